/* vm_run: set the VM up step by step, run it (vCPU threads plus the event loop on the
 * calling thread), tear everything down, and read the result the guest left on the
 * control channel. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "vmm.h"

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

bool vm_is_stopping(const struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE);
}

void vm_stop(struct vm *vm)
{
	__atomic_store_n(&vm->stopping, 1, __ATOMIC_RELEASE);
	vm_vcpus_kick(vm);
	vm_loop_wake(&vm->loop);
}

void vm_fail(struct vm *vm, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&vm->lock);
	if (!vm->fail_msg && vasprintf(&vm->fail_msg, fmt, ap) < 0)
		vm->fail_msg = NULL;
	pthread_mutex_unlock(&vm->lock);
	va_end(ap);
	vm_stop(vm);
}

/* The bus as the devices see it. */
static void bus_irq(void *ctx, unsigned irq, int level)
{
	struct vm *vm = ctx;
	struct kvm_irq_level l = {.irq = irq, .level = (uint32_t)level};
	if (ioctl(vm->fd, KVM_IRQ_LINE, &l) < 0)
		vm_fail(vm, "KVM_IRQ_LINE %u: %s", irq, strerror(errno));
}
static void bus_fail(void *ctx, const char *msg)
{
	vm_fail(ctx, "%s", msg);
}
static void bus_reset(void *ctx)
{
	struct vm *vm = ctx;
	pthread_mutex_lock(&vm->lock);
	vm->reset = true;
	pthread_mutex_unlock(&vm->lock);
	vm_stop(vm);
}
static bool bus_stopping(void *ctx)
{
	return vm_is_stopping(ctx);
}
static int bus_watch(void *ctx, int fd, uint32_t events, vm_fd_cb cb, void *dev,
		     struct hull_err *err)
{
	return vm_loop_watch(&((struct vm *)ctx)->loop, fd, events, cb, dev, err);
}
static void bus_rewatch(void *ctx, int fd, uint32_t events)
{
	vm_loop_rewatch(&((struct vm *)ctx)->loop, fd, events);
}

static int check_config(const struct vm_config *cfg, struct hull_err *err)
{
	if (!cfg->kernel)
		return hull_error(err, 0, "micro-VM: no kernel given");
	if (cfg->cpus < 1 || cfg->cpus > VM_MAX_CPUS)
		return hull_error(err, 0, "micro-VM: %u vCPUs (want 1 to %d)", cfg->cpus,
				  VM_MAX_CPUS);
	if (cfg->memory_mib < (VM_MEM_MIN >> 20) || cfg->memory_mib > (VM_MEM_MAX >> 20))
		return hull_error(err, 0, "micro-VM: %u MiB of memory (want %llu to %llu)",
				  cfg->memory_mib, VM_MEM_MIN >> 20, VM_MEM_MAX >> 20);
	if (cfg->initrd_size && !cfg->initrd)
		return hull_error(err, 0, "micro-VM: initrd size without data");
	return 0;
}

static struct vm *vm_new(const struct vm_config *cfg, struct hull_err *err)
{
	struct vm *vm = calloc(1, sizeof *vm);
	if (!vm) {
		hull_error(err, errno, "micro-VM");
		return NULL;
	}
	vm->cfg = cfg;
	vm->kvm_fd = vm->fd = vm->sig_fd = vm->ready_fd = -1;
	vm->loop.epfd = vm->loop.wake_fd = -1;
	vm->ncpus = cfg->cpus;
	for (unsigned i = 0; i < VM_MAX_CPUS; i++)
		vm->cpu[i] = (struct vm_vcpu){.vm = vm, .id = i, .fd = -1};
	pthread_mutex_init(&vm->lock, NULL);
	vm->bus = (struct vm_bus){.mem = &vm->mem,
				  .ctx = vm,
				  .irq_set = bus_irq,
				  .fail = bus_fail,
				  .reset = bus_reset,
				  .stopping = bus_stopping,
				  .watch = bus_watch,
				  .rewatch = bus_rewatch};
	return vm;
}

static void vm_free(struct vm *vm)
{
	vm_vcpus_destroy(vm);
	vm_serial_free(vm->serial);
	vm_console_free(vm->con[0]);
	vm_console_free(vm->con[1]);
	vm_control_free(vm->ctl);
	vm_loop_destroy(&vm->loop);
	if (vm->ready_fd >= 0)
		close(vm->ready_fd);
	free(vm->cpuid);
	vm_kvm_close(vm);
	free(vm->fail_msg);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static int load_kernel(struct vm *vm, struct vm_kernel *k, struct hull_err *err)
{
	const char *path = vm->cfg->kernel;
	_cleanup_close_ int fd = vm->cfg->use_fds ? fcntl(vm->cfg->kernel_fd, F_DUPFD_CLOEXEC, 0)
						  : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return hull_error(err, errno, "guest kernel %s", path);
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return hull_error(err, 0, "guest kernel %s: not a regular, non-empty file", path);
	void *img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED)
		return hull_error(err, errno, "guest kernel %s", path);
	int r = vm_elf_load(img, (size_t)st.st_size, &vm->mem, k, err);
	munmap(img, (size_t)st.st_size);
	if (r < 0)
		return hull_error_wrap(err, "guest kernel %s", path);
	return 0;
}

static int write_boot(struct vm *vm, const struct vm_kernel *k, struct hull_err *err)
{
	const struct vm_config *cfg = vm->cfg;
	char cmdline[BOOT_CMDLINE_MAX];
	if (vm_boot_cmdline(cmdline, sizeof cmdline, VM_CONSOLES, cfg->cmdline, err) < 0)
		return -1;
	struct vm_boot_info b = {.cmdline_addr = BOOT_CMDLINE,
				 .cmdline_size = (uint32_t)strlen(cmdline) + 1};
	memcpy(vm_mem_ptr(&vm->mem, BOOT_CMDLINE, b.cmdline_size), cmdline, b.cmdline_size);
	if (cfg->initrd_size) {
		if (vm_boot_initrd_addr(vm->mem.size, k->end, cfg->initrd_size, &b.initrd_addr,
					err) < 0)
			return -1;
		b.initrd_size = cfg->initrd_size;
		memcpy(vm_mem_ptr(&vm->mem, b.initrd_addr, b.initrd_size), cfg->initrd,
		       cfg->initrd_size);
	}
	if ((k->pvh ? vm_boot_pvh_info(&vm->mem, &b, err) : vm_boot_zero_page(&vm->mem, &b, err)) <
		0 ||
	    vm_mptable_write(&vm->mem, vm->ncpus, err) < 0 ||
	    vm_boot_gdt_write(&vm->mem, err) < 0 || vm_boot_page_tables(&vm->mem, err) < 0)
		return -1;
	return 0;
}

/* hvc0's input ended: every byte read is in the guest's receive buffers by now, so the
 * count is what the guest init relays before it closes the process's stdin. */
static void stdin_eof(void *ctx, uint64_t bytes)
{
	struct vm *vm = ctx;
	vm_control_send_eof(vm->ctl, bytes);
}
static const struct vm_console_ops stdio_ops = {.in_eof = stdin_eof, .hold_input = true};

/* The guest's `ready` arrives on a vCPU thread inside the control console's lock; starting
 * stdin takes hvc0's lock, and hvc0's end of input takes the control console's: so the
 * start is handed to the event loop through an eventfd, and no thread holds both. */
static void control_ready(void *ctx)
{
	struct vm *vm = ctx;
	uint64_t one = 1;
	if (write(vm->ready_fd, &one, sizeof one) < 0) {
		/* the counter is already nonzero: the loop will start stdin */
	}
}

static void on_ready_event(void *dev, int fd, uint32_t events)
{
	(void)events;
	struct vm *vm = dev;
	uint64_t n;
	if (read(fd, &n, sizeof n) == sizeof n) {
		vm_control_start(vm->ctl);
		vm_console_start_input(vm->con[0]);
	}
}

static void send_winsize(struct vm *vm)
{
	struct winsize ws;
	if ((ioctl(vm->cfg->stdin_fd, TIOCGWINSZ, &ws) == 0 ||
	     ioctl(vm->cfg->stdout_fd, TIOCGWINSZ, &ws) == 0) &&
	    ws.ws_row && ws.ws_col) /* a serial line reports 0x0: no size to give */
		vm_control_send_winsize(vm->ctl, ws.ws_row, ws.ws_col);
}

/* hvc0 (stdin/stdout), hvc1 (stderr), hvc2 (control) at VM_MMIO_BASE, VM_MMIO_SIZE apart,
 * on IRQs 5, 6, 7: the order of the virtio_mmio.device= arguments. */
static int add_devices(struct vm *vm, struct hull_err *err)
{
	const struct vm_config *cfg = vm->cfg;
	vm->serial = vm_serial_new(&vm->bus, cfg->serial_fd, err);
	if (!vm->serial)
		return -1;
	vm->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->ready_fd < 0)
		return hull_error(err, errno, "eventfd");
	vm->ctl = vm_control_new(&vm->bus, VM_IRQ_FIRST_MMIO + 2, control_ready, vm, err);
	if (!vm->ctl)
		return -1;
	vm->con[0] = vm_console_new(&vm->bus, VM_IRQ_FIRST_MMIO, cfg->stdin_fd, cfg->stdout_fd,
				    &stdio_ops, vm, err);
	if (!vm->con[0])
		return -1;
	vm->con[1] =
	    vm_console_new(&vm->bus, VM_IRQ_FIRST_MMIO + 1, -1, cfg->stderr_fd, NULL, NULL, err);
	if (!vm->con[1])
		return -1;
	struct vm_virtio *t[VM_CONSOLES] = {vm_console_transport(vm->con[0]),
					    vm_console_transport(vm->con[1]),
					    vm_control_transport(vm->ctl)};
	for (unsigned i = 0; i < VM_CONSOLES; i++)
		if (vm_io_add(&vm->mmio, VM_MMIO_BASE + i * VM_MMIO_SIZE, VM_MMIO_SIZE,
			      &vm_virtio_mmio_ops, t[i], err) < 0)
			return -1;
	if (vm_loop_watch(&vm->loop, vm->ready_fd, EPOLLIN, on_ready_event, vm, err) < 0 ||
	    vm_io_add(&vm->pio, VM_SERIAL_PORT, 8, &vm_serial_ops, vm->serial, err) < 0 ||
	    vm_io_add(&vm->pio, 0x60, 1, &vm_i8042_ops, NULL, err) < 0 ||
	    vm_io_add(&vm->pio, 0x64, 1, &vm_i8042_ops, &vm->bus, err) < 0)
		return -1;
	if (cfg->stdin_fd < 0)
		vm_control_send_eof(vm->ctl, 0);
	send_winsize(vm);
	return 0;
}

static int setup(struct vm *vm, struct hull_err *err)
{
	struct vm_kernel k;
	if (vm_loop_init(&vm->loop, err) < 0 || vm_kvm_open(vm, err) < 0 ||
	    vm_kvm_memory(vm, (uint64_t)vm->cfg->memory_mib << 20, err) < 0 ||
	    load_kernel(vm, &k, err) < 0 || write_boot(vm, &k, err) < 0 ||
	    add_devices(vm, err) < 0 || vm_vcpus_create(vm, &k, err) < 0)
		return -1;
	return 0;
}

/* Signals: SIGPIPE is blocked while the VM runs (a closed stdout reader must not kill the
 * VMM; the write fails instead), the kick signal is blocked everywhere but in the vCPU
 * threads, and with forward_signals the forwarded ones arrive on a signalfd. */
struct sigstate {
	sigset_t old_mask;
	struct sigaction old_kick;
	bool saved;
};

static void kick_handler(int sig)
{
	(void)sig; /* only here to make KVM_RUN return EINTR */
}

static void on_signal(void *dev, int fd, uint32_t events)
{
	(void)events;
	struct vm *vm = dev;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGWINCH)
			send_winsize(vm);
		else
			vm_control_send_signal(vm->ctl, (int)si.ssi_signo);
	}
}

static int signals_setup(struct vm *vm, struct sigstate *s, struct hull_err *err)
{
	sigset_t block, fwd;
	sigemptyset(&block);
	sigemptyset(&fwd);
	sigaddset(&block, SIGPIPE);
	sigaddset(&block, VM_KICK_SIGNAL);
	for (size_t i = 0; vm->cfg->forward_signals && i < sizeof forwarded / sizeof *forwarded;
	     i++) {
		sigaddset(&block, forwarded[i]);
		sigaddset(&fwd, forwarded[i]);
	}
	pthread_sigmask(SIG_BLOCK, &block, &s->old_mask);
	struct sigaction sa = {.sa_handler = kick_handler};
	sigemptyset(&sa.sa_mask);
	sigaction(VM_KICK_SIGNAL, &sa, &s->old_kick);
	s->saved = true;
	if (!vm->cfg->forward_signals)
		return 0;
	vm->sig_fd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->sig_fd < 0)
		return hull_error(err, errno, "signalfd");
	return vm_loop_watch(&vm->loop, vm->sig_fd, EPOLLIN, on_signal, vm, err);
}

/* After the threads are gone. Forwarded signals still queued are dropped: they were meant
 * for a guest that no longer runs. */
static void signals_restore(struct vm *vm, struct sigstate *s)
{
	if (vm->sig_fd >= 0) {
		struct signalfd_siginfo si;
		while (read(vm->sig_fd, &si, sizeof si) == sizeof si)
			;
		close(vm->sig_fd);
		vm->sig_fd = -1;
	}
	if (!s->saved)
		return;
	sigaction(VM_KICK_SIGNAL, &s->old_kick, NULL);
	pthread_sigmask(SIG_SETMASK, &s->old_mask, NULL);
}

static int collect(struct vm *vm, struct vm_result *res, struct hull_err *err)
{
	*res = (struct vm_result){0};
	if (vm->fail_msg)
		return hull_error(err, 0, "micro-VM: %s", vm->fail_msg);
	if (vm_control_result(vm->ctl, &res->exited, &res->exit_code, &res->signal))
		return 0;
	if (vm->cfg->bare_guest)
		return 0;
	return hull_error(err, 0,
			  "micro-VM: the guest stopped without an exit status "
			  "(kernel panic?)");
}

int vm_run(const struct vm_config *cfg, struct vm_result *res, struct hull_err *err)
{
	if (check_config(cfg, err) < 0)
		return -1;
	struct vm *vm = vm_new(cfg, err);
	if (!vm)
		return -1;
	struct sigstate sig = {.saved = false};
	int r = setup(vm, err);
	if (r == 0)
		r = signals_setup(vm, &sig, err);
	if (r == 0)
		r = vm_vcpus_start(vm, err);
	if (r == 0)
		r = vm_loop_run(&vm->loop, &vm->stopping, err);
	vm_stop(vm);
	vm_vcpus_destroy(vm);
	signals_restore(vm, &sig);
	if (r == 0)
		r = collect(vm, res, err);
	else
		hull_error_wrap(err, "micro-VM");
	vm_free(vm);
	return r;
}
