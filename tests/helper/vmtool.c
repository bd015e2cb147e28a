/* hull-vmtool: run a guest under hull's VMM (src/microvm) from the command line, for the
 * end-to-end tests and bench/vm-latency.
 *   hull-vmtool [options] KERNEL     run it; exit with the guest's status (128+N for a
 *                                    signal); 125 and one line on stderr when vm_run fails
 *   hull-vmtool --check              vm_host_check(): 0, or 1 and its line
 * Options: --cpus N, --memory MIB, --initrd FILE, --cmdline TEXT, --serial (8250 output
 * to stderr), --bare (no control channel: a reset is a normal end), --signals (forward
 * signals), --repeat N (run N times in this process, for leak checks). The container's
 * stdio is this process's stdio. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "microvm/microvm.h"

static void *read_file(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		exit(125);
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror(path);
		exit(125);
	}
	*size = (size_t)st.st_size;
	return p;
}

static int check(void)
{
	struct hull_err err = {0};
	if (vm_host_check(&err) < 0) {
		fprintf(stderr, "hull-vmtool: %s\n", hull_err_text(&err));
		return 1;
	}
	puts("ok");
	return 0;
}

static int run(const struct vm_config *cfg, unsigned repeat)
{
	struct vm_result res = {0};
	for (unsigned i = 0; i < repeat; i++) {
		struct hull_err err = {0};
		if (vm_run(cfg, &res, &err) < 0) {
			fprintf(stderr, "hull-vmtool: %s\n", hull_err_text(&err));
			hull_err_clear(&err);
			return 125;
		}
	}
	if (!res.exited && res.signal)
		return 128 + res.signal;
	return res.exit_code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"cpus", required_argument, NULL, 'c'},   {"memory", required_argument, NULL, 'm'},
	    {"initrd", required_argument, NULL, 'i'}, {"cmdline", required_argument, NULL, 'a'},
	    {"serial", no_argument, NULL, 's'},	      {"bare", no_argument, NULL, 'b'},
	    {"signals", no_argument, NULL, 'g'},      {"repeat", required_argument, NULL, 'r'},
	    {"check", no_argument, NULL, 'k'},	      {0},
	};
	struct vm_config cfg = {.cpus = 1,
				.memory_mib = 128,
				.stdin_fd = 0,
				.stdout_fd = 1,
				.stderr_fd = 2,
				.serial_fd = -1};
	unsigned repeat = 1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg.cpus = (unsigned)atoi(optarg);
			break;
		case 'm':
			cfg.memory_mib = (unsigned)atoi(optarg);
			break;
		case 'i':
			cfg.initrd = read_file(optarg, &cfg.initrd_size);
			break;
		case 'a':
			cfg.cmdline = optarg;
			break;
		case 's':
			cfg.serial_fd = 2;
			break;
		case 'b':
			cfg.bare_guest = true;
			break;
		case 'g':
			cfg.forward_signals = true;
			break;
		case 'r':
			repeat = (unsigned)atoi(optarg);
			break;
		case 'k':
			return check();
		default:
			return 125;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: hull-vmtool [options] KERNEL | --check\n");
		return 125;
	}
	cfg.kernel = argv[optind];
	return run(&cfg, repeat);
}
