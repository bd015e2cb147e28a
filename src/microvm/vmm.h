/* The VMM's own state, shared by kvm.c, vcpu.c, loop.c and vm.c; devices never see it
 * (they get struct vm_bus). */
#pragma once
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "microvm.h"
#include "virtio.h"
#include "vm_boot.h"
#include "vm_internal.h"

#define VM_CONSOLES    3 /* hvc0 stdin/stdout, hvc1 stderr, hvc2 the control channel */
#define VM_WATCH_MAX   8
#define VM_TSS_ADDR    0xfffbd000ULL
#define VM_KICK_SIGNAL SIGRTMIN

struct vm;

struct vm_vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
};

struct vm_watch {
	int fd;
	bool active; /* registered with epoll now */
	vm_fd_cb cb;
	void *dev;
};

struct vm_loop {
	int epfd, wake_fd;
	pthread_mutex_t lock; /* the watch table */
	struct vm_watch w[VM_WATCH_MAX];
	unsigned n;
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd, fd;
	struct vm_mem mem;
	struct vm_bus bus;
	struct vm_io_bus pio, mmio;
	struct vm_loop loop;
	unsigned ncpus;
	struct vm_vcpu cpu[VM_MAX_CPUS];
	struct kvm_cpuid2 *cpuid;
	int stopping;	      /* atomic: the VM is ending, for whatever reason */
	pthread_mutex_t lock; /* fail_msg and reset */
	char *fail_msg;
	bool reset; /* the guest reset (its normal end) */
	struct vm_serial *serial;
	struct vm_console *con[2];
	struct vm_control *ctl;
	int sig_fd;
	int ready_fd; /* eventfd: the guest sent `ready`, the loop starts stdin */
};

/* kvm.c */
int vm_kvm_open(struct vm *vm, struct hull_err *err);
int vm_kvm_memory(struct vm *vm, uint64_t size, struct hull_err *err);
void vm_kvm_close(struct vm *vm);
bool vm_cpuinfo_has_virt(const char *cpuinfo);

/* cpu.c */
struct kvm_cpuid2 *vm_cpuid_supported(int kvm_fd, struct hull_err *err);
int vm_cpu_setup(int fd, unsigned id, const struct kvm_cpuid2 *sup, struct hull_err *err);
int vm_cpu_boot_regs(int fd, const struct vm_kernel *k, struct hull_err *err);

/* vcpu.c */
int vm_vcpus_create(struct vm *vm, const struct vm_kernel *k, struct hull_err *err);
int vm_vcpus_start(struct vm *vm, struct hull_err *err);
void vm_vcpus_kick(struct vm *vm);
void vm_vcpus_destroy(struct vm *vm); /* joins the threads first */

/* loop.c */
int vm_loop_init(struct vm_loop *l, struct hull_err *err);
void vm_loop_destroy(struct vm_loop *l);
int vm_loop_watch(struct vm_loop *l, int fd, uint32_t events, vm_fd_cb cb, void *dev,
		  struct hull_err *err);
void vm_loop_rewatch(struct vm_loop *l, int fd, uint32_t events);
void vm_loop_wake(struct vm_loop *l);
/* Run callbacks until *stopping is set (and the loop woken). */
int vm_loop_run(struct vm_loop *l, const int *stopping, struct hull_err *err);

/* vm.c */
void vm_stop(struct vm *vm);
bool vm_is_stopping(const struct vm *vm);
void vm_fail(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
