"""Reference logits for the tiny Gemma fixture from the real transformers GemmaForCausalLM (and PEFT).

Run on a machine with PyTorch, transformers and peft (the device machine), from the repository root:

    python3 scripts/device/gemma_reference.py test/fixtures/gemma-tiny test/fixtures/gemma-tiny/reference

It writes reference/logits.safetensors (F32 "logits" [T, vocab] for the ids below, no bos added) and, with a LoRA
adapter made by PEFT itself, reference/adapter/ (adapter_config.json + adapter_model.safetensors) and
reference/logits_adapter.safetensors. LoRA Lab's tests compare against these files when they are committed.
"""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import GemmaForCausalLM

IDS = [2, 10, 200, 300, 5, 17, 42]


def main(model_dir: str, out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = GemmaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
    model.eval()
    ids = torch.tensor([IDS])
    with torch.no_grad():
        logits = model(ids).logits[0].float().contiguous()
    save_file({"logits": logits}, str(out / "logits.safetensors"), metadata={"format": "pt"})

    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, cfg)
    for name, p in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.1)
    peft_model.save_pretrained(str(out / "adapter"))
    with torch.no_grad():
        logits = peft_model(ids).logits[0].float().contiguous()
    save_file({"logits": logits}, str(out / "logits_adapter.safetensors"), metadata={"format": "pt"})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
