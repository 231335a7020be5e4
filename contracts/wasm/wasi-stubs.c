// The WASI functions QuickJS's libc pulls in, defined inside the contract so that the module imports
// nothing from wasi_snapshot_preview1 (NEAR rejects such imports at deploy).
//
// near-sdk-js does this after linking with its wasi-stub tool (binaryen fork), which turns each WASI
// import into a function returning 76 (__WASI_ERRNO_NOTCAPABLE), or doing nothing when it returns
// nothing (proc_exit). That tool needs a binaryen function Debian's libbinaryen lacks, so we get the
// same result at link time instead: wasi-libc calls these `__imported_wasi_snapshot_preview1_*`
// symbols, and a definition here wins over the import. The bodies match wasi-stub's exactly.
// Signatures are wasi-libc's (libc-bottom-half/sources/__wasilibc_real.c); a mismatch would make
// wasm-ld warn and trap, which contracts/wasm/build-wasm.mjs refuses.
#include <stdint.h>

#define NOTCAPABLE 76

int32_t __imported_wasi_snapshot_preview1_clock_time_get(int32_t id, int64_t precision, int32_t time) {
  return NOTCAPABLE;
}

int32_t __imported_wasi_snapshot_preview1_fd_close(int32_t fd) {
  return NOTCAPABLE;
}

int32_t __imported_wasi_snapshot_preview1_fd_fdstat_get(int32_t fd, int32_t stat) {
  return NOTCAPABLE;
}

int32_t __imported_wasi_snapshot_preview1_fd_seek(int32_t fd, int64_t offset, int32_t whence, int32_t newoffset) {
  return NOTCAPABLE;
}

int32_t __imported_wasi_snapshot_preview1_fd_write(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten) {
  return NOTCAPABLE;
}

void __imported_wasi_snapshot_preview1_proc_exit(int32_t code) {}
