/* The guest's initramfs: the bundle's rootfs, hull's guest init and the process config, as
 * one newc cpio archive the guest kernel unpacks into its tmpfs root. Public to the VM
 * handler (and the runtime) next to microvm.h.
 *
 * What is in the archive, in order:
 *   1. the rootfs tree, walked from a directory fd without following any symlink; owners,
 *      modes and mtimes as on disk. The container's user-namespace id mapping is not applied:
 *      inside the VM there is no host user namespace, so a file owned by 0 on disk is owned
 *      by root in the guest, which is what the container's image meant.
 *   2. /dev and /dev/console (char 5:1) when the rootfs lacks them: the kernel opens
 *      /dev/console for PID 1 before /init runs.
 *   3. /.hull/ (0700) holding config (0400, guestcfg format) and, when the rootfs has its own
 *      /init, that entry moved to /.hull/rootfs-init (a directory with its subtree, too).
 *   4. /init: hull-guest-init, mode 0755, owned by root. The kernel runs /init from an
 *      initramfs, so ours wins; the guest init then removes itself and /.hull and moves
 *      /.hull/rootfs-init back to /init before the container's process starts, so the
 *      container sees its rootfs unchanged (images such as s6-overlay's use /init).
 *      A rootfs's own /.hull is left out: the name is reserved.
 *
 * The rootfs lives in guest RAM twice while the kernel unpacks it (the archive, freed after
 * unpacking, and the tmpfs copy), and writes to it live in RAM and are lost when the VM ends.
 * Size rule: the archive must not exceed `limit` bytes; vm_initramfs_limit() gives hull's
 * rule, half of the guest's memory. A larger rootfs is refused with its size in the error. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* hull's size rule for a guest with mem_bytes of RAM: half of it. */
uint64_t vm_initramfs_limit(uint64_t mem_bytes);

/* Write the archive to out_fd (from its current offset); *size_out gets its size. On
 * failure out_fd holds garbage: the caller discards it. */
int vm_initramfs_build(int rootfs_fd, const void *config, size_t config_len, uint64_t limit,
		       int out_fd, uint64_t *size_out, struct hull_err *err);

/* The static hull-guest-init binary, embedded into hull at build time (every build has it:
 * it is compiled without the sanitizers even in the sanitizer build). */
const unsigned char *vm_guest_init(size_t *len);
