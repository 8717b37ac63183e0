{
  "targets": [
    {
      "target_name": "loralab_native",
      "sources": ["src/loralab_native.cc", "src/gemma_layer.cc", "src/parallel.cc", "src/optim.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-trapping-math"],
      "conditions": [
        ["OS=='linux'", { "cflags_cc": ["-fopenmp"], "ldflags": ["-fopenmp"], "libraries": ["-ldl"] }],
        ["OS=='mac'", { "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "MACOSX_DEPLOYMENT_TARGET": "11.0" } }]
      ]
    }
  ]
}
