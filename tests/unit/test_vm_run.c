/* A real KVM run of the minimal guest (tests/helper/vm-guest.S, built as vm-guest.elf next
 * to this test): it prints "ok" on the 8250 and resets. Checks that vm_run leaves no
 * thread, fd or mapping behind, and its errors. Without a usable /dev/kvm only the
 * checks that need none run (the reason is printed). */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "microvm/microvm.h"
#include "unit.h"

static char guest[PATH_MAX];

static int count_fds(void)
{
	char path[64];
	int n = 0;
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static long status_field(const char *name)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, name, strlen(name)))
			v = atol(line + strlen(name));
	if (f)
		fclose(f);
	return v;
}

static unsigned long long mapped_bytes(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long long a, b, total = 0;
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%llx-%llx", &a, &b) == 2)
			total += b - a;
	if (f)
		fclose(f);
	return total;
}

static struct vm_config config(int serial_fd)
{
	return (struct vm_config){.kernel = guest,
				  .cpus = 1,
				  .memory_mib = 64,
				  .stdin_fd = -1,
				  .stdout_fd = -1,
				  .stderr_fd = -1,
				  .serial_fd = serial_fd,
				  .bare_guest = true};
}

static void test_bare_guest(void)
{
	int p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	int fds = count_fds();
	long threads = status_field("Threads:");
	unsigned long long maps = mapped_bytes();
	struct vm_config cfg = config(p[1]);
	struct vm_result res = {.exited = true, .exit_code = 9};
	struct hull_err err = {0};
	int r = vm_run(&cfg, &res, &err);
	CHECK(r == 0);
	if (r < 0)
		printf("# %s\n", hull_err_text(&err));
	CHECK(!res.exited && res.exit_code == 0 && res.signal == 0);
	char out[16] = {0};
	close(p[1]);
	CHECK(read(p[0], out, sizeof out - 1) == 3);
	CHECK_STR(out, "ok\n");
	close(p[0]);
	CHECK(count_fds() == fds - 2);
	CHECK(status_field("Threads:") == threads);
	CHECK(mapped_bytes() < maps + (32ULL << 20)); /* the 64 MiB of guest RAM are gone */
	hull_err_clear(&err);
}

static void test_smp_and_repeat(void)
{
	int fds = count_fds();
	for (unsigned i = 0; i < 5; i++) {
		struct vm_config cfg = config(-1);
		cfg.cpus = 1 + i % 4;
		cfg.memory_mib = 16 + 64 * i;
		struct vm_result res;
		struct hull_err err = {0};
		CHECK(vm_run(&cfg, &res, &err) == 0);
		if (err.msg)
			printf("# %s\n", err.msg);
		hull_err_clear(&err);
	}
	CHECK(count_fds() == fds);
	CHECK(status_field("Threads:") == 1);
}

static void test_no_exit_status(void)
{
	struct vm_config cfg = config(-1);
	cfg.bare_guest = false;
	cfg.initrd = "0707010000", cfg.initrd_size = 10;
	cfg.cmdline = "hello";
	struct vm_result res;
	struct hull_err err = {0};
	CHECK(vm_run(&cfg, &res, &err) < 0);
	CHECK_CONTAINS(err.msg, "the guest stopped without an exit status (kernel panic?)");
	hull_err_clear(&err);
}

static void check_fails(const struct vm_config *cfg, const char *want)
{
	struct vm_result res;
	struct hull_err err = {0};
	CHECK(vm_run(cfg, &res, &err) < 0);
	CHECK_CONTAINS(err.msg, want);
	hull_err_clear(&err);
}

static void test_bad_kernels(void)
{
	struct vm_config cfg = config(-1);
	cfg.kernel = "/nonexistent/vmlinux";
	check_fails(&cfg, "guest kernel /nonexistent/vmlinux");
	cfg.kernel = "/etc/hostname";
	check_fails(&cfg, "not an ELF file");
	cfg.kernel = "/proc/self/exe";
	check_fails(&cfg, "not an ELF executable");
	cfg.kernel = "/tmp";
	check_fails(&cfg, "not a regular");
}

static void test_bad_configs(void)
{
	struct vm_config cfg = config(-1);
	cfg.cpus = 0;
	check_fails(&cfg, "0 vCPUs");
	cfg.cpus = 65;
	check_fails(&cfg, "65 vCPUs");
	cfg = config(-1);
	cfg.memory_mib = 8;
	check_fails(&cfg, "8 MiB");
	cfg.memory_mib = 4096;
	check_fails(&cfg, "4096 MiB");
	cfg = config(-1);
	cfg.kernel = NULL;
	check_fails(&cfg, "no kernel");
	cfg = config(-1);
	cfg.initrd_size = 5;
	check_fails(&cfg, "initrd");
}

static void test_host_check(void)
{
	struct hull_err err = {0};
	if (vm_host_check(&err) < 0) {
		CHECK_CONTAINS(err.msg, "micro-VM mode needs hardware virtualization (vmx/svm)");
		printf("# vm_host_check here: %s\n", err.msg);
	}
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		CHECK_CONTAINS(err.msg, "PVM");
	hull_err_clear(&err);
}

int main(int argc, char **argv)
{
	(void)argc;
	char self[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(guest, sizeof guest, "%s/vm-guest.elf", slash ? self : ".");
	(void)argv;
	RUN(test_bad_configs);
	RUN(test_host_check);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("# SKIP the KVM runs: cannot open /dev/kvm\n");
		return unit_done();
	}
	close(kvm);
	RUN(test_bad_kernels);
	RUN(test_bare_guest);
	RUN(test_smp_and_repeat);
	RUN(test_no_exit_status);
	return unit_done();
}
