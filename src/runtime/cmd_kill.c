#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgroups/cgroups.h"
#include "common/log.h"
#include "runtime.h"

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
    {"HUP", SIGHUP},	   {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},	   {"ABRT", SIGABRT}, {"IOT", SIGIOT},	     {"BUS", SIGBUS},
    {"FPE", SIGFPE},	   {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},	   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},	   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},	   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

/* "KILL", "SIGKILL", "9", and "RTMIN+3" style names; 0 checks that the init lives, as
 * kill(2) and runc take it. */
static int parse_signal(const char *text, struct hull_err *err)
{
	if (isdigit((unsigned char)text[0])) {
		char *end;
		long n = strtol(text, &end, 10);
		if (*end == '\0' && n >= 0 && n <= SIGRTMAX)
			return (int)n;
		return hull_error(err, 0, "kill: invalid signal \"%s\"", text);
	}
	const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
	for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
		if (strcasecmp(name, signal_names[i].name) == 0)
			return signal_names[i].sig;
	if (strncasecmp(name, "RTMIN+", 6) == 0 && atoi(name + 6) >= 0 &&
	    SIGRTMIN + atoi(name + 6) <= SIGRTMAX)
		return SIGRTMIN + atoi(name + 6);
	return hull_error(err, 0, "kill: invalid signal \"%s\"", text);
}

/* A task frozen by the v1 freezer does not act on SIGKILL until thawed (cgroup2 lets
 * fatal signals through), so a paused container is thawed after a SIGKILL, as runc does;
 * other signals wait, queued, for `resume`. */
static int thaw_killed(const struct container *c, struct hull_err *err)
{
	struct cgroup *cg = cgroup_open(c->st.cgroup, err);
	if (cg == NULL)
		return -1;
	int r = cgroup_freeze(cg, false, err);
	cgroup_free(cg);
	return r;
}

static int send_signal(struct container *c, int sig, bool all, struct hull_err *err)
{
	if (all && c->st.cgroup != NULL) {
		struct cgroup *cg = cgroup_open(c->st.cgroup, err);
		if (cg == NULL)
			return -1;
		log_msg(LOG_DEBUG, "kill: container %s: signal %d to all", c->st.id, sig);
		int r = cgroup_kill(cg, sig, err);
		cgroup_free(cg);
		return r;
	}
	log_msg(LOG_DEBUG, "kill: container %s: signal %d to pid %d", c->st.id, sig, c->st.pid);
	if (kill(c->st.pid, sig) < 0)
		return hull_error(err, errno, "kill container %s", c->st.id);
	return 0;
}

static int signal_container(struct container *c, int sig, bool all, struct hull_err *err)
{
	const char *status = container_status(c);
	/* An init without a pid namespace of its own may exit and leave its children in the
	 * cgroup: --all still reaches them (containerd's KillAll of a hostPID container), as
	 * in runc. */
	bool leftovers = all && c->st.cgroup != NULL && strcmp(status, "stopped") == 0;
	if (!leftovers && (strcmp(status, "stopped") == 0 || strcmp(status, "creating") == 0))
		return container_not_running("signal", c->st.id, err);
	if (send_signal(c, sig, all, err) < 0)
		return -1;
	if (sig == SIGKILL && strcmp(status, "paused") == 0 && c->st.cgroup != NULL) {
		log_msg(LOG_DEBUG, "kill: container %s: thawed to let SIGKILL through", c->st.id);
		return thaw_killed(c, err);
	}
	return 0;
}

int cmd_kill(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	bool all = false;
	const struct cli_opt opts[] = {{"all", 'a', CLI_FLAG, &all}, {0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0)
		return -1;
	if (argc - first < 1)
		return hull_error(err, 0, "kill: missing container id");
	if (argc - first > 2)
		return hull_error(err, 0, "kill: unexpected argument: %s", argv[first + 2]);
	int sig = argc - first == 2 ? parse_signal(argv[first + 1], err) : SIGTERM;
	if (sig < 0)
		return -1;
	struct container c;
	int r = container_open(g, argv[first], false, &c, err);
	if (r == 0)
		r = signal_container(&c, sig, all, err);
	container_close(&c);
	return r;
}
