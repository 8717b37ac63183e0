;; LoRA Lab's 4-bit dequantize kernel in WebAssembly SIMD (compiled by scripts/build-wasm.mjs into dequant4bitWasm.ts).
;;
;;   out[e] = code[nibble(e)] * absmax[e / blocksize]      (element 2j is the HIGH nibble of byte j, as bitsandbytes packs)
;;   optionally rounded to the nearest bfloat16 value:     bits = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000
;;
;; WebAssembly SIMD has no gather, so the 16-entry float32 codebook is looked up one byte plane at a time:
;; `i8x16.swizzle(plane_k, codes)` gives byte k of code[c] for 16 codes at once, and four byte shuffles re-assemble
;; the four planes into sixteen float32 values. 16 packed bytes (32 elements) cost 2 nibble ops, 2 + 16 shuffles,
;; 8 swizzles, 8 multiplies and 8 stores, written out straight (no calls in the vector loop).
;;
;; The memory is imported, so the same kernel can write straight into another module's heap (TF.js's wasm backend).
(module
  (import "env" "memory" (memory 1))

  ;; Codebook table at $table: 4 planes of 16 bytes (plane k, entry c = byte k of code[c] as float32 little-endian),
  ;; then the 16 float32 values themselves (for the scalar tail).
  ;;
  ;; dequantize(packed, absmax, table, out, nbytes, bytesPerBlock, roundBf16): writes 2 * nbytes float32 values.
  ;; bytesPerBlock = blocksize / 2 must be a multiple of 16 for the vector loop to stay inside one block; any
  ;; other value still gives the right answer through the scalar loop.
  (func $dequantize (export "dequantize")
    (param $packed i32) (param $absmax i32) (param $table i32) (param $out i32)
    (param $nbytes i32) (param $bpb i32) (param $round i32)
    (local $j i32) (local $end i32) (local $blk i32) (local $a f32) (local $av v128)
    (local $p0 v128) (local $p1 v128) (local $p2 v128) (local $p3 v128)
    (local $v v128) (local $hi v128) (local $lo v128) (local $c v128) (local $k i32) (local $t v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $u01 v128) (local $u23 v128) (local $o i32) (local $byte i32)
    (local.set $p0 (v128.load (local.get $table)))
    (local.set $p1 (v128.load offset=16 (local.get $table)))
    (local.set $p2 (v128.load offset=32 (local.get $table)))
    (local.set $p3 (v128.load offset=48 (local.get $table)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $j) (local.get $nbytes)))
        (local.set $a (f32.load (i32.add (local.get $absmax) (i32.shl (local.get $blk) (i32.const 2)))))
        (local.set $av (f32x4.splat (local.get $a)))
        (local.set $end (i32.add (local.get $j) (local.get $bpb)))
        (if (i32.gt_u (local.get $end) (local.get $nbytes)) (then (local.set $end (local.get $nbytes))))
        ;; vector loop: 16 packed bytes -> 32 float32 values
        (block $vdone
          (loop $vec
            (br_if $vdone (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $end)))
            (local.set $v (v128.load (i32.add (local.get $packed) (local.get $j))))
            (local.set $hi (i8x16.shr_u (local.get $v) (i32.const 4)))
            (local.set $lo (v128.and (local.get $v) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)))
            (local.set $o (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3))))
            ;; elements 0..15: codes in element order (hi0 lo0 hi1 lo1 ...), then byte k of each value
            (local.set $c (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $hi) (local.get $lo)))
            (local.set $b0 (i8x16.swizzle (local.get $p0) (local.get $c)))
            (local.set $b1 (i8x16.swizzle (local.get $p1) (local.get $c)))
            (local.set $b2 (i8x16.swizzle (local.get $p2) (local.get $c)))
            (local.set $b3 (i8x16.swizzle (local.get $p3) (local.get $c)))
            (local.set $u01 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $b0) (local.get $b1)))
            (local.set $u23 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $b2) (local.get $b3)))
            (v128.store offset=0 (local.get $o) (f32x4.mul (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $u01) (local.get $u23)) (local.get $av)))
            (v128.store offset=16 (local.get $o) (f32x4.mul (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $u01) (local.get $u23)) (local.get $av)))
            (local.set $u01 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $b0) (local.get $b1)))
            (local.set $u23 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $b2) (local.get $b3)))
            (v128.store offset=32 (local.get $o) (f32x4.mul (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $u01) (local.get $u23)) (local.get $av)))
            (v128.store offset=48 (local.get $o) (f32x4.mul (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $u01) (local.get $u23)) (local.get $av)))
            ;; elements 16..31: codes in element order (hi0 lo0 hi1 lo1 ...), then byte k of each value
            (local.set $c (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $hi) (local.get $lo)))
            (local.set $b0 (i8x16.swizzle (local.get $p0) (local.get $c)))
            (local.set $b1 (i8x16.swizzle (local.get $p1) (local.get $c)))
            (local.set $b2 (i8x16.swizzle (local.get $p2) (local.get $c)))
            (local.set $b3 (i8x16.swizzle (local.get $p3) (local.get $c)))
            (local.set $u01 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $b0) (local.get $b1)))
            (local.set $u23 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $b2) (local.get $b3)))
            (v128.store offset=64 (local.get $o) (f32x4.mul (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $u01) (local.get $u23)) (local.get $av)))
            (v128.store offset=80 (local.get $o) (f32x4.mul (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $u01) (local.get $u23)) (local.get $av)))
            (local.set $u01 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $b0) (local.get $b1)))
            (local.set $u23 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $b2) (local.get $b3)))
            (v128.store offset=96 (local.get $o) (f32x4.mul (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $u01) (local.get $u23)) (local.get $av)))
            (v128.store offset=112 (local.get $o) (f32x4.mul (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $u01) (local.get $u23)) (local.get $av)))
            ;; bf16: round the 32 values just written (still in L1) in place, (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000
            (if (local.get $round)
              (then
                (local.set $k (i32.const 0))
                (loop $r
                  (v128.store (local.get $o) (v128.and
                    (i32x4.add (local.tee $t (v128.load (local.get $o)))
                      (i32x4.add (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff) (v128.and (i32x4.shr_u (local.get $t) (i32.const 16)) (v128.const i32x4 1 1 1 1))))
                    (v128.const i32x4 0xffff0000 0xffff0000 0xffff0000 0xffff0000)))
                  (local.set $o (i32.add (local.get $o) (i32.const 16)))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br_if $r (i32.lt_u (local.get $k) (i32.const 8))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vec)))
        ;; scalar loop: the rest of the block, one byte (two values) at a time
        (block $sdone
          (loop $scalar
            (br_if $sdone (i32.ge_u (local.get $j) (local.get $end)))
            (local.set $byte (i32.load8_u (i32.add (local.get $packed) (local.get $j))))
            (local.set $o (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3))))
            (f32.store (local.get $o) (call $value (local.get $table) (i32.shr_u (local.get $byte) (i32.const 4)) (local.get $a) (local.get $round)))
            (f32.store offset=4 (local.get $o) (call $value (local.get $table) (i32.and (local.get $byte) (i32.const 15)) (local.get $a) (local.get $round)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $scalar)))
        (local.set $blk (i32.add (local.get $blk) (i32.const 1)))
        (br $blocks))))

  ;; one value code[c] * a (scalar tail)
  (func $value (param $table i32) (param $c i32) (param $a f32) (param $round i32) (result f32)
    (local $v f32) (local $bits i32)
    (local.set $v (f32.mul (f32.load offset=64 (i32.add (local.get $table) (i32.shl (local.get $c) (i32.const 2)))) (local.get $a)))
    (if (result f32) (local.get $round)
      (then
        (local.set $bits (i32.reinterpret_f32 (local.get $v)))
        (f32.reinterpret_i32 (i32.and
          (i32.add (local.get $bits) (i32.add (i32.const 0x7fff) (i32.and (i32.shr_u (local.get $bits) (i32.const 16)) (i32.const 1))))
          (i32.const 0xffff0000))))
      (else (local.get $v))))

;; roundBf16(src, dst, n): dst[i] = src[i] rounded to a bf16 value (src == dst is allowed); NaN becomes the
  ;; canonical bf16 NaN 0x7fc0, as PyTorch writes it. Used for the activations that enter a bf16-compute matmul.
  (func (export "roundBf16") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $r v128) (local $t v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vec
        (br_if $vdone (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $r (v128.load (local.get $src)))
        (v128.store (local.get $dst)
          (v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000)
            (v128.and
              (i32x4.add (local.get $r)
                (i32x4.add (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff) (v128.and (i32x4.shr_u (local.get $r) (i32.const 16)) (v128.const i32x4 1 1 1 1))))
              (v128.const i32x4 0xffff0000 0xffff0000 0xffff0000 0xffff0000))
            (f32x4.ne (local.get $r) (local.get $r))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $vec)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $sdone
      (loop $scalar
        (br_if $sdone (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $r (v128.load32_zero (local.get $src)))
        (v128.store32_lane 0 (local.get $dst)
          (v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000)
            (v128.and
              (i32x4.add (local.get $r)
                (i32x4.add (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff) (v128.and (i32x4.shr_u (local.get $r) (i32.const 16)) (v128.const i32x4 1 1 1 1))))
              (v128.const i32x4 0xffff0000 0xffff0000 0xffff0000 0xffff0000))
            (f32x4.ne (local.get $r) (local.get $r))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $scalar))))
)
