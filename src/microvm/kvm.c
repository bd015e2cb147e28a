/* /dev/kvm: the VM with its in-kernel interrupt controllers and PIT, guest RAM, and the
 * host check that tells a user up front whether micro-VM mode can work here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "vmm.h"

#define KVM_API	   12
#define HOST_NEEDS "micro-VM mode needs hardware virtualization (vmx/svm) and /dev/kvm; "

static int open_kvm(struct hull_err *err)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return hull_error(err, 0,
					  HOST_NEEDS "this host has no /dev/kvm (load "
						     "kvm_intel or kvm_amd, or enable nested "
						     "virtualization)");
		return hull_error(err, errno, HOST_NEEDS "cannot open /dev/kvm");
	}
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API) {
		close(fd);
		return hull_error(err, 0, HOST_NEEDS "/dev/kvm speaks API %d, not %d", v, KVM_API);
	}
	return fd;
}

int vm_kvm_open(struct vm *vm, struct hull_err *err)
{
	vm->kvm_fd = vm->cfg->use_fds ? fcntl(vm->cfg->kvm_fd, F_DUPFD_CLOEXEC, 0) : open_kvm(err);
	if (vm->cfg->use_fds && vm->kvm_fd < 0)
		return hull_error(err, errno, "/dev/kvm");
	if (vm->kvm_fd < 0)
		return -1;
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return hull_error(err, errno, "KVM_CREATE_VM");
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)VM_TSS_ADDR) < 0)
		return hull_error(err, errno, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return hull_error(err, errno, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return hull_error(err, errno, "KVM_CREATE_PIT2");
	return 0;
}

/* Anonymous and MAP_NORESERVE: the guest's RAM costs host memory only as it is touched. */
int vm_kvm_memory(struct vm *vm, uint64_t size, struct hull_err *err)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return hull_error(err, errno, "guest memory (%llu MiB)",
				  (unsigned long long)(size >> 20));
	vm->mem.base = p;
	vm->mem.size = size;
	struct kvm_userspace_memory_region r = {
	    .slot = 0, .guest_phys_addr = 0, .memory_size = size, .userspace_addr = (uintptr_t)p};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return hull_error(err, errno, "KVM_SET_USER_MEMORY_REGION");
	return 0;
}

void vm_kvm_close(struct vm *vm)
{
	if (vm->mem.base)
		munmap(vm->mem.base, vm->mem.size);
	vm->mem.base = NULL;
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->fd = vm->kvm_fd = -1;
}

/* The first "flags" line of /proc/cpuinfo names vmx (Intel) or svm (AMD). */
bool vm_cpuinfo_has_virt(const char *cpuinfo)
{
	const char *p = cpuinfo;
	while (p && strncmp(p, "flags", 5) != 0) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return false;
	char line[8192];
	snprintf(line, sizeof line, "%.*s ", (int)strcspn(p, "\n"), p);
	return strstr(line, " vmx ") || strstr(line, " svm ");
}

static int check_cpuinfo(struct hull_err *err)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char buf[8192];
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
	if (!vm_cpuinfo_has_virt(buf))
		return hull_error(err, 0,
				  HOST_NEEDS "this host's CPU shows no vmx/svm flag in "
					     "/proc/cpuinfo (enable virtualization in the "
					     "firmware, or nested virtualization)");
	return 0;
}

int vm_host_check(struct hull_err *err)
{
	_cleanup_close_ int kvm = open_kvm(err);
	if (kvm < 0)
		return -1;
	struct stat st;
	if (stat("/sys/module/kvm_pvm", &st) == 0)
		return hull_error(err, 0,
				  HOST_NEEDS "this host's /dev/kvm is the paravirtual "
					     "PVM hypervisor (kvm_pvm), which cannot run a "
					     "Linux guest's user space");
	if (check_cpuinfo(err) < 0)
		return -1;
	_cleanup_close_ int vmfd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vmfd < 0)
		return hull_error(err, errno, HOST_NEEDS "KVM_CREATE_VM failed here");
	return 0;
}
