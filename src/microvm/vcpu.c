/* One thread per vCPU, each running KVM_RUN and dispatching its exits. Stopping: whoever
 * ends the VM sets vm->stopping, then vm_vcpus_kick() sets immediate_exit in each run area
 * (so a thread about to enter KVM_RUN returns at once) and signals each thread (so one
 * inside KVM_RUN leaves it with EINTR). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

static int create_one(struct vm *vm, struct vm_vcpu *c, int run_size, struct hull_err *err)
{
	c->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)c->id);
	if (c->fd < 0)
		return hull_error(err, errno, "KVM_CREATE_VCPU %u", c->id);
	void *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (run == MAP_FAILED)
		return hull_error(err, errno, "mmap of vCPU %u's run area", c->id);
	c->run = run;
	c->run_size = (size_t)run_size;
	return vm_cpu_setup(c->fd, c->id, vm->cpuid, err);
}

int vm_vcpus_create(struct vm *vm, const struct vm_kernel *k, struct hull_err *err)
{
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		return hull_error(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
	vm->cpuid = vm_cpuid_supported(vm->kvm_fd, err);
	if (!vm->cpuid)
		return -1;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vm_vcpu *c = &vm->cpu[i];
		if (create_one(vm, c, run_size, err) < 0)
			return -1;
	}
	/* The others wait for the boot CPU's INIT/SIPI in the in-kernel local APIC. */
	return vm_cpu_boot_regs(vm->cpu[0].fd, k, err);
}

static void exit_io(struct vm_vcpu *c)
{
	struct kvm_run *r = c->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	bool out = r->io.direction == KVM_EXIT_IO_OUT;
	for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size)
		vm_io_access(&c->vm->pio, r->io.port, data, r->io.size, out);
}

static void exit_mmio(struct vm_vcpu *c)
{
	struct kvm_run *r = c->run;
	vm_io_access(&c->vm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len, r->mmio.is_write);
}

/* Suberror 1 is an instruction KVM could not emulate: say where, with the data words KVM
 * gives (on x86 they include the instruction bytes). */
static void internal_error(struct vm_vcpu *c)
{
	struct kvm_run *r = c->run;
	struct kvm_regs regs = {0};
	ioctl(c->fd, KVM_GET_REGS, &regs);
	char data[128] = "";
	size_t n = 0;
	for (unsigned i = 0; i < r->internal.ndata && i < 4 && n < sizeof data; i++)
		n += (size_t)snprintf(data + n, sizeof data - n, " %llx",
				      (unsigned long long)r->internal.data[i]);
	vm_fail(c->vm, "vCPU %u: KVM internal error (suberror %u) at rip 0x%llx, data%s", c->id,
		r->internal.suberror, (unsigned long long)regs.rip, n ? data : " none");
}

/* false when the VM ends with this exit */
static bool handle_exit(struct vm_vcpu *c)
{
	struct kvm_run *r = c->run;
	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		exit_io(c);
		return true;
	case KVM_EXIT_MMIO:
		exit_mmio(c);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:	    /* a halt with no interrupt that could ever wake it */
	case KVM_EXIT_SHUTDOWN:	    /* a triple fault: `reboot=t`, or the bench guest */
	case KVM_EXIT_SYSTEM_EVENT: /* a PSCI-style reset or shutdown */
		vm_stop(c->vm);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_fail(c->vm, "vCPU %u: KVM could not enter the guest (hardware reason 0x%llx)",
			c->id, (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		internal_error(c);
		return false;
	default:
		vm_fail(c->vm, "vCPU %u: unexpected KVM exit %u", c->id, r->exit_reason);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vm_vcpu *c = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!vm_is_stopping(c->vm)) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_fail(c->vm, "vCPU %u: KVM_RUN: %s", c->id, strerror(errno));
			break;
		}
		if (!handle_exit(c))
			break;
	}
	return NULL;
}

int vm_vcpus_start(struct vm *vm, struct hull_err *err)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vm_vcpu *c = &vm->cpu[i];
		int r = pthread_create(&c->thread, NULL, vcpu_thread, c);
		if (r != 0)
			return hull_error(err, r, "vCPU thread");
		c->started = true;
	}
	return 0;
}

void vm_vcpus_kick(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vm_vcpu *c = &vm->cpu[i];
		if (c->run)
			__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_RELEASE);
		if (c->started)
			pthread_kill(c->thread, VM_KICK_SIGNAL);
	}
}

/* A thread can miss one kick (it was between two syscalls of a device handler that then
 * blocks on a host fd): kick again until it is gone. */
static void join(struct vm_vcpu *c)
{
	for (;;) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 20 * 1000 * 1000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(c->thread, NULL, &t) != ETIMEDOUT)
			return;
		pthread_kill(c->thread, VM_KICK_SIGNAL);
	}
}

void vm_vcpus_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vm_vcpu *c = &vm->cpu[i];
		if (c->started)
			join(c);
		c->started = false;
		if (c->run)
			munmap(c->run, c->run_size);
		c->run = NULL;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
}
