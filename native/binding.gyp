{
  "targets": [
    {
      "target_name": "corral_native",
      "sources": [
        "src/addon.cc",
        "src/cgroups.cc",
        "src/errors.cc",
        "src/fd.cc",
        "src/in-root.cc",
        "src/links.cc",
        "src/locks.cc",
        "src/mounts.cc",
        "src/namespaces.cc",
        "src/netlink.cc",
        "src/own-thread.cc",
        "src/sockets.cc",
        "src/whiteouts.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"],
      "ldflags": ["-pthread"]
    },
    {
      "target_name": "corral-notify-keeper",
      "type": "executable",
      "sources": ["src/notify-keeper.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
