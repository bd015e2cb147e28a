/* config.json parsing and validation (src/runtime/spec*.c). JSON in this file is written
 * with single quotes, turned into double quotes before parsing, to stay readable. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/spec.h"
#include "unit.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define HEAD	"{'ociVersion':'1.2.0','root':{'path':'rootfs'},"
#define PROC(x) "'process':{'args':['sh'],'cwd':'/'" x "}"
/* A complete document with extra members for process and linux. */
#define DOC(proc_extra, linux_extra) HEAD PROC(proc_extra) ",'linux':{" linux_extra "}}"

static char *dq(const char *q)
{
	char *s = strdup(q);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static int parse_q(const char *q, struct oci_spec *spec, struct hull_err *err)
{
	_cleanup_free_ char *text = dq(q);
	return spec_parse(text, strlen(text), "/bundle", spec, err);
}

/* The parse fails with a "config.json: " message containing want. */
static bool fails_with(const char *q, const char *want)
{
	struct oci_spec spec;
	struct hull_err err = {0};
	int r = parse_q(q, &spec, &err);
	bool ok = r == -1 && err.msg != NULL && strncmp(err.msg, "config.json: ", 13) == 0 &&
		  strstr(err.msg, want) != NULL;
	if (!ok)
		printf("#   want error containing '%s', got r=%d msg='%s'\n", want, r,
		       err.msg ? err.msg : "(none)");
	hull_err_clear(&err);
	spec_free(&spec);
	return ok;
}

static bool parses(const char *q)
{
	struct oci_spec spec;
	struct hull_err err = {0};
	int r = parse_q(q, &spec, &err);
	if (r != 0)
		printf("#   unexpected error: %s\n", err.msg ? err.msg : "(none)");
	hull_err_clear(&err);
	spec_free(&spec);
	return r == 0;
}

#define EXPECT_ERROR(q, want) CHECK(fails_with(q, want))
#define EXPECT_OK(q)	      CHECK(parses(q))

static const char full_config[] =
    "{'ociVersion':'1.1.0-rc.1','root':{'path':'rootfs','readonly':true},"
    "'hostname':'box','domainname':'example.org',"
    "'mounts':[{'destination':'/proc','type':'proc','source':'proc'},"
    "{'destination':'/data','type':'none','source':'data',"
    "'options':['rbind','ro','nosuid','rprivate']},"
    "{'destination':'/tmp','type':'tmpfs','source':'tmpfs',"
    "'options':['nodev','mode=1777','size=64k','rro','rnoatime']}],"
    "'process':{'terminal':true,'consoleSize':{'height':24,'width':80},"
    "'user':{'uid':1000,'gid':1001,'umask':18,'additionalGids':[5,6]},"
    "'args':['/bin/sh','-c','echo hi'],'env':['PATH=/bin','EMPTY='],'cwd':'/work',"
    "'capabilities':{'bounding':['CAP_KILL','CAP_CHOWN'],'effective':['CAP_KILL'],"
    "'inheritable':[],'permitted':['CAP_KILL'],'ambient':['CAP_NET_RAW']},"
    "'rlimits':[{'type':'RLIMIT_NOFILE','soft':1024,'hard':4096},"
    "{'type':'RLIMIT_CORE','soft':0,'hard':18446744073709551615}],"
    "'noNewPrivileges':true,'oomScoreAdj':-500,"
    "'scheduler':{'policy':'SCHED_FIFO','priority':10,'nice':-5,"
    "'flags':['SCHED_FLAG_RESET_ON_FORK','SCHED_FLAG_RECLAIM'],"
    "'runtime':1,'deadline':2,'period':3},"
    "'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':3},"
    "'apparmorProfile':'hull-default','selinuxLabel':'system_u:system_r:container_t:s0'},"
    "'hooks':{'prestart':[{'path':'/bin/pre','args':['pre','a'],'env':['X=1'],'timeout':5}],"
    "'createRuntime':[{'path':'/bin/cr'}],'createContainer':[{'path':'/bin/cc'}],"
    "'startContainer':[{'path':'/bin/sc'}],"
    "'poststart':[{'path':'/bin/ps'},{'path':'/bin/ps2'}],'poststop':[{'path':'/bin/pst'}]},"
    "'annotations':{'org.example.key':'value','b':'c'},"
    "'linux':{'namespaces':[{'type':'pid'},{'type':'network','path':'/proc/1/ns/net'},"
    "{'type':'mount'},{'type':'ipc'},{'type':'uts'},{'type':'user'},{'type':'cgroup'},"
    "{'type':'time'}],"
    "'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
    "'gidMappings':[{'containerID':0,'hostID':200000,'size':1000},"
    "{'containerID':1000,'hostID':1000,'size':1}],"
    "'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,'fileMode':438,"
    "'uid':0,'gid':5},{'path':'/dev/fifo','type':'p'}],"
    "'cgroupsPath':'/hull/test',"
    "'resources':{'memory':{'limit':1048576},'devices':[{'allow':false,'access':'rwm'}],"
    "'cpu':{'shares':1024,'cpus':'0-1'}},"
    "'sysctl':{'net.ipv4.ip_forward':'1','kernel.shmmax':'1000'},"
    "'rootfsPropagation':'rslave','maskedPaths':['/proc/kcore'],"
    "'readonlyPaths':['/proc/sys','/proc/bus'],"
    "'mountLabel':'system_u:object_r:container_file_t:s0',"
    "'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
    "'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86'],"
    "'flags':['SECCOMP_FILTER_FLAG_LOG'],'listenerPath':'/run/agent.sock',"
    "'syscalls':[{'names':['read','write'],'action':'SCMP_ACT_ALLOW'},"
    "{'names':['mkdir'],'action':'SCMP_ACT_NOTIFY'},"
    "{'names':['personality'],'action':'SCMP_ACT_ERRNO','errnoRet':38,"
    "'args':[{'index':0,'value':8,'op':'SCMP_CMP_EQ'},"
    "{'index':1,'value':255,'valueTwo':4,'op':'SCMP_CMP_MASKED_EQ'}]}]},"
    "'personality':{'domain':'LINUX32','flags':[]},"
    "'timeOffsets':{'monotonic':{'secs':10,'nanosecs':20},"
    "'boottime':{'secs':-5,'nanosecs':0}}},"
    "'someFutureField':{'x':[1,2]}}";

static void check_full_top(const struct oci_spec *s)
{
	CHECK_STR(s->oci_version, "1.1.0-rc.1");
	CHECK_STR(s->bundle, "/bundle");
	CHECK_STR(s->root_path, "/bundle/rootfs");
	CHECK(s->root_readonly);
	CHECK_STR(s->hostname, "box");
	CHECK_STR(s->domainname, "example.org");
	CHECK(s->n_annotations == 2);
	if (s->n_annotations == 2) {
		CHECK_STR(s->annotations[0].key, "org.example.key");
		CHECK_STR(s->annotations[0].value, "value");
		CHECK_STR(s->annotations[1].key, "b");
	}
	CHECK(s->n_mounts == 3);
	if (s->n_mounts != 3)
		return;
	const struct oci_mount *data = &s->mounts[1], *tmp = &s->mounts[2];
	CHECK(!s->mounts[0].bind && s->mounts[0].flags == 0 && s->mounts[0].data == NULL);
	CHECK_STR(s->mounts[0].source, "proc");
	CHECK(data->bind && data->recursive);
	CHECK_STR(data->source, "/bundle/data");
	CHECK(data->flags == (MS_RDONLY | MS_NOSUID));
	CHECK(data->propagation == (MS_PRIVATE | MS_REC));
	CHECK(data->n_options == 4);
	CHECK_STR(data->options[3], "rprivate");
	CHECK(!tmp->bind);
	CHECK(tmp->flags == MS_NODEV);
	CHECK_STR(tmp->data, "mode=1777,size=64k");
	CHECK(tmp->attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME));
	CHECK(tmp->attr_clr == MOUNT_ATTR__ATIME);
}

static void check_full_process(const struct oci_spec *s)
{
	const struct oci_process *p = &s->process;
	CHECK(s->has_process);
	CHECK(p->terminal && p->has_console_size);
	CHECK(p->console_height == 24 && p->console_width == 80);
	CHECK(p->uid == 1000 && p->gid == 1001);
	CHECK(p->has_umask && p->umask == 022);
	CHECK(p->n_additional_gids == 2 && p->additional_gids[0] == 5 &&
	      p->additional_gids[1] == 6);
	CHECK(p->n_args == 3 && p->args[3] == NULL);
	CHECK_STR(p->args[2], "echo hi");
	CHECK(p->n_env == 2 && p->env[2] == NULL);
	CHECK_STR(p->env[1], "EMPTY=");
	CHECK_STR(p->cwd, "/work");
	CHECK(p->has_caps);
	CHECK(p->caps.bounding == ((1ULL << CAP_KILL) | (1ULL << CAP_CHOWN)));
	CHECK(p->caps.effective == 1ULL << CAP_KILL && p->caps.permitted == 1ULL << CAP_KILL);
	CHECK(p->caps.inheritable == 0 && p->caps.ambient == 1ULL << CAP_NET_RAW);
	CHECK(p->n_rlimits == 2);
	CHECK(p->rlimits[0].resource == RLIMIT_NOFILE && p->rlimits[0].soft == 1024 &&
	      p->rlimits[0].hard == 4096);
	CHECK(p->rlimits[1].resource == RLIMIT_CORE && p->rlimits[1].hard == UINT64_MAX);
	CHECK(p->no_new_privileges);
	CHECK(p->has_oom_score_adj && p->oom_score_adj == -500);
	CHECK(p->has_scheduler && p->scheduler.policy == SCHED_FIFO);
	CHECK(p->scheduler.priority == 10 && p->scheduler.nice == -5);
	CHECK(p->scheduler.flags == 0x03);
	CHECK(p->scheduler.runtime == 1 && p->scheduler.deadline == 2 && p->scheduler.period == 3);
	CHECK(p->has_io_priority && p->io_priority.class == IOPRIO_CLASS_BE &&
	      p->io_priority.priority == 3);
	CHECK_STR(p->apparmor_profile, "hull-default");
	CHECK_STR(p->selinux_label, "system_u:system_r:container_t:s0");
}

static void check_full_hooks(const struct oci_spec *s)
{
	const struct oci_hook_list *pre = &s->hooks[HOOK_PRESTART];
	CHECK(pre->n == 1);
	CHECK_STR(pre->hooks[0].path, "/bin/pre");
	CHECK(pre->hooks[0].n_args == 2 && pre->hooks[0].args[2] == NULL);
	CHECK_STR(pre->hooks[0].args[1], "a");
	CHECK(pre->hooks[0].n_env == 1 && pre->hooks[0].env[1] == NULL);
	CHECK(pre->hooks[0].timeout == 5);
	CHECK_STR(s->hooks[HOOK_CREATE_RUNTIME].hooks[0].path, "/bin/cr");
	CHECK_STR(s->hooks[HOOK_CREATE_CONTAINER].hooks[0].path, "/bin/cc");
	CHECK_STR(s->hooks[HOOK_START_CONTAINER].hooks[0].path, "/bin/sc");
	CHECK(s->hooks[HOOK_POSTSTART].n == 2);
	CHECK_STR(s->hooks[HOOK_POSTSTART].hooks[1].path, "/bin/ps2");
	CHECK(s->hooks[HOOK_POSTSTART].hooks[1].args == NULL);
	CHECK(s->hooks[HOOK_POSTSTART].hooks[1].timeout == 0);
	CHECK_STR(s->hooks[HOOK_POSTSTOP].hooks[0].path, "/bin/pst");
}

static void check_full_linux(const struct oci_spec *s)
{
	const struct oci_linux *l = &s->linux_cfg;
	CHECK(l->n_namespaces == 8);
	CHECK(oci_namespace(s, CLONE_NEWPID) != NULL &&
	      oci_namespace(s, CLONE_NEWPID)->path == NULL);
	CHECK(oci_namespace(s, CLONE_NEWNET) != NULL);
	CHECK_STR(oci_namespace(s, CLONE_NEWNET)->path, "/proc/1/ns/net");
	CHECK(oci_namespace(s, CLONE_NEWTIME) != NULL);
	CHECK(l->n_uid_mappings == 1 && l->uid_mappings[0].host_id == 100000 &&
	      l->uid_mappings[0].size == 65536);
	CHECK(l->n_gid_mappings == 2 && l->gid_mappings[1].container_id == 1000);
	CHECK(l->n_devices == 2);
	CHECK_STR(l->devices[0].path, "/dev/fuse");
	CHECK(l->devices[0].type == 'c' && l->devices[0].major == 10 && l->devices[0].minor == 229);
	CHECK(l->devices[0].has_file_mode && l->devices[0].file_mode == 0666);
	CHECK(l->devices[0].has_uid && l->devices[0].uid == 0);
	CHECK(l->devices[0].has_gid && l->devices[0].gid == 5);
	CHECK(l->devices[1].type == 'p' && !l->devices[1].has_file_mode && !l->devices[1].has_uid);
	CHECK_STR(l->cgroups_path, "/hull/test");
	CHECK(l->resources != NULL);
	if (l->resources != NULL) {
		const struct oci_resources *r = l->resources;
		CHECK(r->memory.limit.set && r->memory.limit.v == 1048576);
		CHECK(!r->memory.swap.set && !r->pids_limit.set);
		CHECK(r->cpu.shares.set && r->cpu.shares.v == 1024);
		CHECK_STR(r->cpu.cpus, "0-1");
		/* the config's deny-all, then linux.devices' /dev/fuse (the FIFO needs no
		 * rule), then the standard nodes */
		CHECK(r->n_devices > 2 && !r->devices[0].allow && r->devices[0].type == 'a');
		CHECK_STR(r->devices[0].access, "rwm");
		CHECK(r->devices[1].allow && r->devices[1].type == 'c' &&
		      r->devices[1].major == 10 && r->devices[1].minor == 229);
		CHECK(r->devices[2].allow && r->devices[2].major == -1 &&
		      strcmp(r->devices[2].access, "m") == 0);
	}
	CHECK(l->n_sysctl == 2);
	CHECK_STR(l->sysctl[0].key, "net.ipv4.ip_forward");
	CHECK_STR(l->sysctl[0].value, "1");
	CHECK(l->rootfs_propagation == (MS_SLAVE | MS_REC));
	CHECK(l->n_masked_paths == 1 && l->n_readonly_paths == 2);
	CHECK_STR(l->readonly_paths[1], "/proc/bus");
	CHECK_STR(l->mount_label, "system_u:object_r:container_file_t:s0");
	CHECK(l->personality.present && l->personality.domain == PER_LINUX32);
	CHECK(l->time_monotonic.present && l->time_monotonic.secs == 10 &&
	      l->time_monotonic.nanosecs == 20);
	CHECK(l->time_boottime.present && l->time_boottime.secs == -5);
}

static void check_full_seccomp(const struct oci_spec *s)
{
	const struct oci_seccomp *sc = s->linux_cfg.seccomp;
	CHECK(sc != NULL);
	if (sc == NULL)
		return;
	CHECK(sc->default_action == SCMP_ACT_ERRNO(1));
	CHECK(sc->n_architectures == 2 && sc->architectures[0] == SCMP_ARCH_X86_64 &&
	      sc->architectures[1] == SCMP_ARCH_X86);
	CHECK(sc->flags == 2 /* SECCOMP_FILTER_FLAG_LOG */);
	CHECK_STR(sc->listener_path, "/run/agent.sock");
	CHECK(sc->n_rules == 3);
	if (sc->n_rules != 3)
		return;
	CHECK(sc->rules[0].n_names == 2 && sc->rules[0].action == SCMP_ACT_ALLOW);
	CHECK_STR(sc->rules[0].names[1], "write");
	CHECK(sc->rules[1].action == SCMP_ACT_NOTIFY);
	const struct oci_seccomp_rule *r = &sc->rules[2];
	CHECK(r->action == SCMP_ACT_ERRNO(38));
	CHECK(r->n_args == 2);
	CHECK(r->args[0].index == 0 && r->args[0].value == 8 && r->args[0].op == SCMP_CMP_EQ);
	CHECK(r->args[1].index == 1 && r->args[1].value == 255 && r->args[1].value_two == 4 &&
	      r->args[1].op == SCMP_CMP_MASKED_EQ);
}

static void test_full_config(void)
{
	struct oci_spec s;
	struct hull_err err = {0};
	int r = parse_q(full_config, &s, &err);
	CHECK(r == 0);
	if (r != 0) {
		printf("#   %s\n", err.msg);
		hull_err_clear(&err);
		return;
	}
	check_full_top(&s);
	check_full_process(&s);
	check_full_hooks(&s);
	check_full_linux(&s);
	check_full_seccomp(&s);
	spec_free(&s);
	CHECK(s.arena.head == NULL && s.process.args == NULL);
}

static void test_minimal_config(void)
{
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(parse_q("{'ociVersion':'1.0.0','root':{'path':'/srv/root'}}", &s, &err) == 0);
	CHECK(err.msg == NULL);
	CHECK_STR(s.root_path, "/srv/root");
	CHECK(!s.root_readonly && !s.has_process && s.n_mounts == 0);
	CHECK(s.hostname == NULL && s.linux_cfg.seccomp == NULL);
	CHECK(s.linux_cfg.n_namespaces == 0);
	/* no linux object: still the standard device rules, and nothing else */
	CHECK(s.linux_cfg.resources != NULL);
	if (s.linux_cfg.resources != NULL) {
		CHECK(s.linux_cfg.resources->n_devices > 0 &&
		      s.linux_cfg.resources->devices[0].allow);
		CHECK(!s.linux_cfg.resources->memory.limit.set);
	}
	CHECK(oci_namespace(&s, CLONE_NEWPID) == NULL);
	for (int k = 0; k < HOOK_KIND_COUNT; k++)
		CHECK(s.hooks[k].n == 0);
	spec_free(&s);
}

/* Go's encoding/json, which runc and the image tools use, keeps the last of repeated keys. */
static void test_duplicate_keys_last_wins(void)
{
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(parse_q("{'ociVersion':'1.0.0','root':{'path':'/a'},'root':{'path':'/b',"
		      "'readonly':true}," PROC(",'cwd':'/work'") "}",
		      &s, &err) == 0);
	CHECK_STR(s.root_path, "/b");
	CHECK(s.root_readonly);
	CHECK_STR(s.process.cwd, "/work");
	spec_free(&s);
}

static void test_minimal_process_defaults(void)
{
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(parse_q(HEAD PROC("") "}", &s, &err) == 0);
	CHECK(s.has_process && !s.process.has_caps && !s.process.terminal);
	CHECK(s.process.uid == 0 && !s.process.has_umask && !s.process.has_oom_score_adj);
	CHECK(s.process.n_env == 0 && s.process.n_rlimits == 0);
	spec_free(&s);
}

static void test_malformed_json(void)
{
	EXPECT_ERROR("{'ociVersion':", "config.json: invalid JSON");
	EXPECT_ERROR("{'ociVersion':'1.0.0',}", "config.json: invalid JSON");
	EXPECT_ERROR("['ociVersion']", "config.json: must be a JSON object");
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(spec_parse("{\"a\":1}\0x", 9, "/b", &s, &err) == -1);
	CHECK_CONTAINS(err.msg, "NUL");
	hull_err_clear(&err);
}

static void test_wrong_types(void)
{
	EXPECT_ERROR(HEAD "'process':{'args':'sh','cwd':'/'}}",
		     "config.json: process.args: must be a non-empty array of strings");
	EXPECT_ERROR(HEAD PROC(",'user':{'uid':'0'}") "}",
		     "config.json: process.user.uid: must be an integer");
	EXPECT_ERROR(HEAD PROC(",'user':{'uid':-1}") "}", "process.user.uid: must be between 0");
	EXPECT_ERROR(HEAD PROC(",'terminal':'yes'") "}", "process.terminal: must be a boolean");
	EXPECT_ERROR(HEAD "'process':['sh']}", "config.json: process: must be an object");
	EXPECT_ERROR(HEAD PROC(",'env':'A=B'") "}", "process.env: must be an array of strings");
	EXPECT_ERROR(HEAD PROC("") ",'mounts':{}}", "config.json: mounts: must be an array");
	EXPECT_ERROR(HEAD "'process':{'args':['sh',1],'cwd':'/'}}",
		     "process.args[1]: must be a string");
	EXPECT_ERROR(HEAD PROC("") ",'annotations':{'a':'b','c':3}}",
		     "config.json: annotations.c: must be a string");
	EXPECT_ERROR(HEAD PROC(",'oomScoreAdj':2000") "}",
		     "process.oomScoreAdj: must be between -1000 and 1000");
	EXPECT_ERROR(HEAD PROC(",'oomScoreAdj':1.5") "}",
		     "process.oomScoreAdj: must be an integer");
}

static void test_process_required_fields(void)
{
	EXPECT_ERROR(HEAD "'process':{'args':[],'cwd':'/'}}",
		     "config.json: process.args: must be a non-empty array of strings");
	EXPECT_ERROR(HEAD "'process':{'cwd':'/'}}", "process.args: must be a non-empty array");
	EXPECT_ERROR(HEAD "'process':{'args':['sh'],'cwd':'work'}}",
		     "config.json: process.cwd: must be an absolute path");
	EXPECT_ERROR(HEAD "'process':{'args':['sh']}}", "config.json: process.cwd: is required");
	EXPECT_ERROR(HEAD PROC(",'env':['A=1','NOEQUALS']") "}",
		     "config.json: process.env[1]: must be \"KEY=VALUE\"");
	EXPECT_ERROR(HEAD PROC(",'env':['=x']") "}", "process.env[0]: must be \"KEY=VALUE\"");
	EXPECT_ERROR("{'ociVersion':'1.0.0'}", "config.json: root: is required");
	EXPECT_ERROR("{'ociVersion':'1.0.0','root':{}}", "config.json: root.path: is required");
	EXPECT_ERROR("{'root':{'path':'r'}}", "config.json: ociVersion: is required");
	EXPECT_ERROR(HEAD PROC(",'user':{'umask':1000}") "}", "process.user.umask: must be");
}

static void test_capabilities(void)
{
	EXPECT_ERROR(HEAD PROC(",'capabilities':{'effective':'CAP_KILL'}") "}",
		     "process.capabilities.effective: must be an array of strings");
	EXPECT_ERROR(HEAD PROC(",'capabilities':{'bounding':['CAP_KILL',7]}") "}",
		     "process.capabilities.bounding");
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(parse_q(HEAD PROC(",'capabilities':{}") "}", &s, &err) == 0);
	CHECK(s.process.has_caps && s.process.caps.bounding == 0 && s.process.caps.unknown == NULL);
	spec_free(&s);
}

/* Names hull or the kernel does not know are left out and listed once each, for the
 * runtime's one warning (runc: "ignoring unknown or unavailable capabilities"). */
static void test_unknown_capabilities_ignored(void)
{
	struct oci_spec s;
	struct hull_err err = {0};
	int r = parse_q(
	    HEAD PROC(",'capabilities':{'bounding':['CAP_KILL','CAP_FOO'],"
		      "'effective':['CAP_FOO','kill','CAP_KILL'],'ambient':['CAP_BAR']}") "}",
	    &s, &err);
	CHECK(r == 0);
	if (r != 0) {
		printf("#   %s\n", err.msg ? err.msg : "(none)");
		hull_err_clear(&err);
		return;
	}
	CHECK(s.process.caps.bounding == 1ULL << CAP_KILL);
	CHECK(s.process.caps.effective == 1ULL << CAP_KILL && s.process.caps.ambient == 0);
	CHECK_STR(s.process.caps.unknown, "CAP_FOO kill CAP_BAR");
	spec_free(&s);
	CHECK(parse_q(HEAD PROC(",'capabilities':{'bounding':['CAP_KILL']}") "}", &s, &err) == 0);
	CHECK(s.process.caps.unknown == NULL);
	spec_free(&s);
}

static void test_namespaces(void)
{
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'pid'},{'type':'bogus'}]"),
		     "config.json: linux.namespaces[1].type: unknown namespace type \"bogus\"");
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'pid'},{'type':'ipc'},{'type':'pid'}]"),
		     "config.json: linux.namespaces[2].type: duplicate namespace \"pid\"");
	EXPECT_ERROR(DOC("", "'namespaces':[{'path':'/x'}]"),
		     "linux.namespaces[0].type: is required");
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'net'}]"), "unknown namespace type \"net\"");
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'ipc','path':'proc/1/ns/ipc'}]"),
		     "linux.namespaces[0].path: must be an absolute path");
	EXPECT_ERROR(DOC("", "'namespaces':['pid']"), "linux.namespaces[0]: must be an object");
}

static void test_oci_versions(void)
{
	EXPECT_ERROR("{'ociVersion':'2.0.0','root':{'path':'r'}}",
		     "config.json: ociVersion: unsupported version \"2.0.0\" (hull supports 1.0.0 "
		     "to 1.3.x)");
	EXPECT_ERROR("{'ociVersion':'1.4.0','root':{'path':'r'}}", "unsupported version \"1.4.0\"");
	EXPECT_ERROR("{'ociVersion':'0.9.0','root':{'path':'r'}}", "unsupported version \"0.9.0\"");
	EXPECT_ERROR("{'ociVersion':'garbage','root':{'path':'r'}}", "unsupported version");
	EXPECT_ERROR("{'ociVersion':'1.0','root':{'path':'r'}}", "unsupported version \"1.0\"");
	EXPECT_ERROR("{'ociVersion':'1.0.0x','root':{'path':'r'}}", "unsupported version");
	EXPECT_ERROR("{'ociVersion':'','root':{'path':'r'}}", "unsupported version \"\"");
	EXPECT_ERROR("{'ociVersion':1,'root':{'path':'r'}}",
		     "config.json: ociVersion: must be a string");
	EXPECT_OK("{'ociVersion':'1.0.0','root':{'path':'r'}}");
	EXPECT_OK("{'ociVersion':'1.0.2-dev','root':{'path':'r'}}");
	EXPECT_OK("{'ociVersion':'1.1.0-rc.1','root':{'path':'r'}}");
	EXPECT_OK("{'ociVersion':'1.3.0','root':{'path':'r'}}");
	EXPECT_OK("{'ociVersion':'1.2.1+build.5','root':{'path':'r'}}");
}

static struct oci_mount *one_mount(struct oci_spec *s, const char *mount_q)
{
	char q[1024];
	struct hull_err err = {0};
	snprintf(q, sizeof q, HEAD "'mounts':[%s]}", mount_q);
	if (parse_q(q, s, &err) < 0) {
		printf("#   %s\n", err.msg);
		hull_err_clear(&err);
		return NULL;
	}
	return s->n_mounts == 1 ? &s->mounts[0] : NULL;
}

static void test_mount_options(void)
{
	struct oci_spec s;
	struct oci_mount *m = one_mount(
	    &s, "{'destination':'/dev','type':'tmpfs','source':'tmpfs','options':['nosuid',"
		"'noexec','ro','strictatime','rshared','mode=755','size=65536k','rro',"
		"'rnosuid','rnodev','rdev','']}");
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK(m->flags == (MS_NOSUID | MS_NOEXEC | MS_RDONLY | MS_STRICTATIME));
		CHECK(m->propagation == (MS_SHARED | MS_REC));
		CHECK_STR(m->data, "mode=755,size=65536k");
		CHECK(m->attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
		CHECK(m->attr_clr == MOUNT_ATTR_NODEV);
		CHECK(!m->bind && !m->recursive);
		CHECK_STR(m->type, "tmpfs");
		CHECK_STR(m->source, "tmpfs");
		CHECK(m->n_options == 12);
	}
	spec_free(&s);
	m = one_mount(&s, "{'destination':'/x','type':'tmpfs','options':['ro','rw','nodev','dev',"
			  "'private','unbindable','rnoatime','rstrictatime']}");
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK(m->flags == 0);
		CHECK(m->propagation == MS_UNBINDABLE);
		CHECK(m->attr_set == MOUNT_ATTR_STRICTATIME && m->attr_clr == MOUNT_ATTR__ATIME);
		CHECK(m->data == NULL && m->source == NULL);
	}
	spec_free(&s);
}

static void test_mount_option_names_all_known(void)
{
	char q[4096] = HEAD "'mounts':[{'destination':'/m','type':'none','source':'/s','options':[";
	size_t n = 0;
	for (const char *const *o = spec_mount_option_names; *o != NULL; o++) {
		if (strcmp(*o, "tmpcopyup") == 0)
			continue; /* tmpfs only: checked in test_mount_tmpcopyup */
		snprintf(q + strlen(q), sizeof q - strlen(q), "%s'%s'", n++ ? "," : "", *o);
	}
	strncat(q, "]}]}", sizeof q - strlen(q) - 1);
	CHECK(n > 50);
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(parse_q(q, &s, &err) == 0);
	CHECK(s.n_mounts == 1 && s.mounts[0].data == NULL && s.mounts[0].bind &&
	      s.mounts[0].recursive);
	spec_free(&s);
	hull_err_clear(&err);
}

static void test_mount_tmpcopyup(void)
{
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(parse_q(HEAD "'mounts':[{'destination':'/run','type':'tmpfs',"
			   "'options':['tmpcopyup','nosuid']}]}",
		      &s, &err) == 0);
	CHECK(s.n_mounts == 1 && s.mounts[0].copy_up && (s.mounts[0].flags & MS_NOSUID));
	CHECK(s.mounts[0].data == NULL);
	spec_free(&s);
	hull_err_clear(&err);
}

static void test_mount_errors(void)
{
	EXPECT_ERROR(HEAD "'mounts':[{'destination':'/a'},{'destination':'/b'},"
			  "{'destination':'c','type':'tmpfs'}]}",
		     "config.json: mounts[2].destination: must be an absolute path");
	EXPECT_ERROR(HEAD "'mounts':[{'type':'tmpfs'}]}", "mounts[0].destination: is required");
	EXPECT_ERROR(HEAD "'mounts':[{'destination':'/a','options':['idmap']}]}",
		     "mounts[0].options: mount option \"idmap\" is not supported");
	EXPECT_ERROR(HEAD "'mounts':[{'destination':'/a','options':['tmpcopyup']}]}",
		     "mounts[0].options: tmpcopyup applies to tmpfs mounts only");
	EXPECT_ERROR(HEAD "'mounts':[{'destination':'/a','type':'bind','source':'/x',"
			  "'options':['tmpcopyup']}]}",
		     "tmpcopyup applies to tmpfs mounts only");
	EXPECT_ERROR(HEAD "'mounts':[{'destination':'/a','options':['ridmap']}]}",
		     "\"ridmap\" is not supported");
	EXPECT_ERROR(HEAD "'mounts':[{'destination':'/a','type':'bind'}]}",
		     "mounts[0].source: is required for a bind mount");
	EXPECT_ERROR(HEAD "'mounts':[{'destination':'/a','source':'/x','options':['bind'],"
			  "'uidMappings':[]}]}",
		     "mounts[0].uidMappings: idmapped mounts are not supported");
	EXPECT_ERROR(HEAD "'mounts':[{'destination':'/a','options':[1]}]}",
		     "mounts[0].options[0]: must be a string");
}

static void test_bind_source_resolution(void)
{
	struct oci_spec s;
	struct oci_mount *m =
	    one_mount(&s, "{'destination':'/data','type':'bind','source':'sub/dir'}");
	CHECK(m != NULL && m->bind && !m->recursive);
	if (m != NULL)
		CHECK_STR(m->source, "/bundle/sub/dir");
	spec_free(&s);
	m = one_mount(&s, "{'destination':'/data','source':'./x','options':['rbind']}");
	CHECK(m != NULL && m->bind && m->recursive && m->type == NULL);
	if (m != NULL)
		CHECK_STR(m->source, "/bundle/./x");
	spec_free(&s);
	m = one_mount(&s, "{'destination':'/data','source':'/abs','options':['bind']}");
	if (m != NULL)
		CHECK_STR(m->source, "/abs");
	CHECK(m != NULL);
	spec_free(&s);
	/* Only bind sources are paths; a filesystem's source is its own business. */
	m = one_mount(&s, "{'destination':'/t','type':'tmpfs','source':'tmpfs'}");
	if (m != NULL)
		CHECK_STR(m->source, "tmpfs");
	CHECK(m != NULL);
	spec_free(&s);
}

#define USERNS "'namespaces':[{'type':'user'},{'type':'mount'}]"
#define UIDMAP "'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]"
#define GIDMAP "'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]"

static void test_id_mappings(void)
{
	EXPECT_ERROR(
	    DOC("", USERNS ",'uidMappings':[{'containerID':0,'hostID':1000,'size':0}]," GIDMAP),
	    "config.json: linux.uidMappings[0].size: must be greater than zero");
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'mount'}]," UIDMAP "," GIDMAP),
		     "config.json: linux.uidMappings: requires a user namespace");
	EXPECT_ERROR(DOC("", GIDMAP), "config.json: linux.gidMappings: requires a user namespace");
	EXPECT_ERROR(DOC("", USERNS), "linux.uidMappings: required for a new user namespace");
	EXPECT_ERROR(DOC("", USERNS "," UIDMAP), "linux.gidMappings: required for a new user");
	EXPECT_ERROR(DOC("", USERNS ",'uidMappings':[{'containerID':0,'size':1}]," GIDMAP),
		     "linux.uidMappings[0].hostID: is required");
	EXPECT_OK(DOC("", USERNS "," UIDMAP "," GIDMAP));
	EXPECT_OK(DOC("", "'namespaces':[{'type':'user','path':'/proc/1/ns/user'}]"));
}

static void test_time_offsets(void)
{
	EXPECT_ERROR(DOC("", "'timeOffsets':{'monotonic':{'secs':1}}"),
		     "config.json: linux.timeOffsets: requires a new time namespace");
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'time','path':'/proc/1/ns/time'}],"
			     "'timeOffsets':{'boottime':{'secs':1}}"),
		     "linux.timeOffsets: requires a new time namespace");
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'time'}],'timeOffsets':{'realtime':{}}"),
		     "linux.timeOffsets.realtime: unknown clock");
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'time'}],"
			     "'timeOffsets':{'monotonic':{'nanosecs':1000000000}}"),
		     "linux.timeOffsets.monotonic.nanosecs: must be between 0 and 999999999");
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(parse_q(DOC("", "'namespaces':[{'type':'time'}],"
			      "'timeOffsets':{'boottime':{'secs':-3,'nanosecs':7}}"),
		      &s, &err) == 0);
	CHECK(!s.linux_cfg.time_monotonic.present && s.linux_cfg.time_boottime.present);
	CHECK(s.linux_cfg.time_boottime.secs == -3 && s.linux_cfg.time_boottime.nanosecs == 7);
	spec_free(&s);
}

static void test_rlimits(void)
{
	EXPECT_ERROR(HEAD PROC(",'rlimits':[{'type':'RLIMIT_NOFILE','soft':10,'hard':5}]") "}",
		     "config.json: process.rlimits[0]: soft limit 10 is greater than hard limit 5");
	EXPECT_ERROR(HEAD PROC(",'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]") "}",
		     "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
	EXPECT_ERROR(HEAD PROC(",'rlimits':[{'type':'RLIMIT_CORE','soft':1,'hard':1},"
			       "{'type':'RLIMIT_CORE','soft':2,'hard':2}]") "}",
		     "process.rlimits[1].type: duplicate rlimit \"RLIMIT_CORE\"");
	EXPECT_ERROR(HEAD PROC(",'rlimits':[{'type':'RLIMIT_CORE','hard':1}]") "}",
		     "process.rlimits[0].soft: is required");
	EXPECT_ERROR(HEAD PROC(",'rlimits':[{'type':'RLIMIT_CORE','soft':-1,'hard':1}]") "}",
		     "process.rlimits[0].soft: must be a non-negative integer");
	EXPECT_ERROR(HEAD PROC(",'rlimits':[{'type':'RLIMIT_CORE','soft':1,"
			       "'hard':18446744073709551616}]") "}",
		     "process.rlimits[0].hard: does not fit in 64 bits");
}

static void test_scheduler_and_ioprio(void)
{
	EXPECT_ERROR(HEAD PROC(",'scheduler':{'policy':'SCHED_FAST'}") "}",
		     "process.scheduler.policy: unknown scheduling policy \"SCHED_FAST\"");
	EXPECT_ERROR(HEAD PROC(",'scheduler':{'nice':1}") "}",
		     "process.scheduler.policy: is required");
	EXPECT_ERROR(
	    HEAD PROC(",'scheduler':{'policy':'SCHED_OTHER','flags':['SCHED_FLAG_X']}") "}",
	    "process.scheduler.flags: unknown scheduler flag \"SCHED_FLAG_X\"");
	EXPECT_ERROR(HEAD PROC(",'ioPriority':{'class':'IOPRIO_CLASS_RT','priority':8}") "}",
		     "process.ioPriority.priority: must be between 0 and 7");
	EXPECT_ERROR(HEAD PROC(",'ioPriority':{'class':'IOPRIO_CLASS_NONE'}") "}",
		     "process.ioPriority.class: unknown I/O priority class");
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(
	    parse_q(
		HEAD PROC(
		    ",'scheduler':{'policy':'SCHED_DEADLINE','runtime':18446744073709551615}") "}",
		&s, &err) == 0);
	CHECK(s.process.scheduler.policy == 6 && s.process.scheduler.runtime == UINT64_MAX);
	spec_free(&s);
}

#define SECCOMP(x) DOC("", "'seccomp':{" x "}")

static void test_seccomp_names(void)
{
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_NOPE'"),
		     "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"");
	EXPECT_ERROR(SECCOMP("'architectures':['SCMP_ARCH_X86_64']"),
		     "linux.seccomp.defaultAction: is required");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_Z80']"),
		     "linux.seccomp.architectures: unknown architecture \"SCMP_ARCH_Z80\"");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_NO']"),
		     "linux.seccomp.flags: unknown flag \"SECCOMP_FILTER_FLAG_NO\"");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],"
			     "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':1,"
			     "'op':'SCMP_CMP_ABOUT'}]}]"),
		     "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_ABOUT\"");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],"
			     "'action':'SCMP_ACT_ERRNO','args':[{'index':6,'value':1,"
			     "'op':'SCMP_CMP_EQ'}]}]"),
		     "linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],"
			     "'action':'SCMP_ACT_ERRNO'}]"),
		     "linux.seccomp.syscalls[0].names: must be a non-empty array of strings");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a']}]"),
		     "linux.seccomp.syscalls[0].action: is required");
}

static void test_seccomp_errno_and_notify(void)
{
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],"
			     "'action':'SCMP_ACT_ALLOW','errnoRet':1}]"),
		     "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or "
		     "SCMP_ACT_TRACE");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_KILL','defaultErrnoRet':1"),
		     "linux.seccomp.defaultErrnoRet: only valid with");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':70000"),
		     "linux.seccomp.defaultErrnoRet: must be between 0 and 65535");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/s'"),
		     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default");
	EXPECT_ERROR(SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],"
			     "'action':'SCMP_ACT_NOTIFY'}]"),
		     "linux.seccomp.listenerPath: is required with SCMP_ACT_NOTIFY");
	struct oci_spec s;
	struct hull_err err = {0};
	CHECK(parse_q(SECCOMP("'defaultAction':'SCMP_ACT_TRACE','defaultErrnoRet':7,"
			      "'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
			      "'errnoRet':13},{'names':['w'],'action':'SCMP_ACT_ERRNO'}]"),
		      &s, &err) == 0);
	CHECK(s.linux_cfg.seccomp != NULL);
	if (s.linux_cfg.seccomp != NULL) {
		CHECK(s.linux_cfg.seccomp->default_action == SCMP_ACT_TRACE(7));
		CHECK(s.linux_cfg.seccomp->rules[0].action == SCMP_ACT_ERRNO(13));
		/* Without errnoRet the action is still an ERRNO action, with some errno. */
		CHECK((s.linux_cfg.seccomp->rules[1].action & 0xffff0000U) == SCMP_ACT_ERRNO(0));
		CHECK(s.linux_cfg.seccomp->n_architectures == 0);
	}
	spec_free(&s);
}

static void test_hooks(void)
{
	EXPECT_ERROR(HEAD PROC("") ",'hooks':{'prestart':[{'args':['x']}]}}",
		     "config.json: hooks.prestart[0].path: is required");
	EXPECT_ERROR(HEAD PROC("") ",'hooks':{'poststop':[{'path':'/a'},{'path':'rel'}]}}",
		     "config.json: hooks.poststop[1].path: must be an absolute path");
	EXPECT_ERROR(HEAD PROC("") ",'hooks':{'createRuntime':[{'path':'/a','timeout':0}]}}",
		     "hooks.createRuntime[0].timeout: must be greater than zero");
	EXPECT_ERROR(HEAD PROC("") ",'hooks':{'startContainer':{'path':'/a'}}}",
		     "hooks.startContainer: must be an array");
	EXPECT_ERROR(HEAD PROC("") ",'hooks':{'createContainer':[{'path':'/a','env':[1]}]}}",
		     "hooks.createContainer[0].env[0]: must be a string");
	EXPECT_OK(HEAD PROC("") ",'hooks':{'unknownKind':[{'nothing':1}]}}");
}

static void test_linux_misc_errors(void)
{
	EXPECT_ERROR(HEAD PROC("") ",'hostname':'h'}",
		     "config.json: hostname: requires a new UTS namespace");
	EXPECT_ERROR(DOC("", "'sysctl':{'net.ipv4.ip_forward':'1'}"),
		     "config.json: linux.sysctl: \"net.ipv4.ip_forward\" requires a new network "
		     "namespace");
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'network'}],'sysctl':{'kernel.shmmax':'1'}"),
		     "linux.sysctl: \"kernel.shmmax\" requires a new IPC namespace");
	EXPECT_ERROR(DOC("", "'namespaces':[{'type':'uts'}],'sysctl':{'vm.swappiness':'1'}"),
		     "linux.sysctl: \"vm.swappiness\" is not namespaced");
	EXPECT_ERROR(DOC("", "'sysctl':{'net.core.somaxconn':1}"),
		     "linux.sysctl.net.core.somaxconn: must be a string");
	EXPECT_ERROR(DOC("", "'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]"),
		     "linux.devices[0].type: must be one of");
	EXPECT_ERROR(DOC("", "'devices':[{'path':'dev/x','type':'c','major':1,'minor':1}]"),
		     "linux.devices[0].path: must be an absolute path");
	EXPECT_ERROR(DOC("", "'devices':[{'path':'/dev/x','type':'b','minor':1}]"),
		     "linux.devices[0].major: is required");
	EXPECT_ERROR(DOC("", "'rootfsPropagation':'sideways'"),
		     "linux.rootfsPropagation: unknown propagation \"sideways\"");
	EXPECT_ERROR(DOC("", "'maskedPaths':['/ok','rel']"),
		     "linux.maskedPaths[1]: must be an absolute path");
	EXPECT_ERROR(DOC("", "'personality':{'domain':'BSD'}"),
		     "linux.personality.domain: unknown domain \"BSD\"");
	EXPECT_ERROR(DOC("", "'resources':[1]"), "linux.resources: must be an object");
	EXPECT_OK(DOC("", "'namespaces':[{'type':'network'},{'type':'uts'}],"
			  "'sysctl':{'net.ipv4.ping_group_range':'0 0','kernel.hostname':'x'}"));
}

static void test_spec_load_relative_bundle(void)
{
	char dir[] = "/tmp/hull-test-spec-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256], cwd[4096];
	snprintf(path, sizeof path, "%s/config.json", dir);
	_cleanup_free_ char *text = dq("{'ociVersion':'1.0.0','root':{'path':'rootfs'}}");
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir("/tmp") == 0);
	struct oci_spec s;
	struct hull_err err = {0};
	char *raw = NULL;
	CHECK(spec_load(dir + strlen("/tmp/"), &s, &raw, &err) == 0);
	CHECK_STR(s.bundle, dir);
	char want[300];
	snprintf(want, sizeof want, "%s/rootfs", dir);
	CHECK_STR(s.root_path, want);
	CHECK_STR(raw, text);
	free(raw);
	spec_free(&s);
	unlink(path);
	CHECK(spec_load(dir + strlen("/tmp/"), &s, NULL, &err) == -1);
	CHECK(err.code == ENOENT);
	CHECK_CONTAINS(err.msg, "config.json");
	hull_err_clear(&err);
	CHECK(chdir(cwd) == 0);
	rmdir(dir);
}

static void test_default_config_roundtrip(void)
{
	struct hull_err err = {0};
	_cleanup_free_ char *text = spec_default_config(false, &err);
	CHECK(text != NULL);
	if (text == NULL)
		return;
	struct oci_spec s;
	CHECK(spec_parse(text, strlen(text), "/b", &s, &err) == 0);
	if (err.msg != NULL)
		printf("#   %s\n", err.msg);
	CHECK_STR(s.oci_version, "1.2.0");
	CHECK_STR(s.root_path, "/b/rootfs");
	CHECK(s.root_readonly && s.process.terminal && s.process.no_new_privileges);
	CHECK_STR(s.process.args[0], "sh");
	CHECK_STR(s.process.env[1], "TERM=xterm");
	CHECK(s.process.caps.bounding ==
	      ((1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE)));
	CHECK(s.process.caps.inheritable == 0 &&
	      s.process.caps.permitted == s.process.caps.bounding);
	/* runc 1.1.5's template lists the three in ambient as well */
	CHECK(s.process.caps.ambient == s.process.caps.bounding);
	CHECK(s.process.n_rlimits == 1 && s.process.rlimits[0].hard == 1024);
	CHECK_STR(s.hostname, "hull");
	CHECK(s.n_mounts == 7);
	if (s.n_mounts == 7) {
		CHECK_STR(s.mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
		CHECK(s.mounts[2].flags == (MS_NOSUID | MS_NOEXEC));
		CHECK(s.mounts[5].flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
		CHECK_STR(s.mounts[5].type, "sysfs");
	}
	CHECK(s.linux_cfg.n_namespaces == 6 && oci_namespace(&s, CLONE_NEWNET) != NULL);
	CHECK(oci_namespace(&s, CLONE_NEWUSER) == NULL);
	CHECK(s.linux_cfg.resources != NULL && s.linux_cfg.resources->n_devices > 1);
	if (s.linux_cfg.resources != NULL && s.linux_cfg.resources->n_devices > 1) {
		const struct oci_device_rule *d = s.linux_cfg.resources->devices;
		CHECK(!d[0].allow && d[0].type == 'a' && d[0].major == -1 && d[0].minor == -1);
		CHECK_STR(d[0].access, "rwm");
		CHECK(d[1].allow);
	}
	CHECK(s.linux_cfg.n_masked_paths == 10 && s.linux_cfg.n_readonly_paths == 5);
	spec_free(&s);
	hull_err_clear(&err);
}

static void test_default_config_rootless(void)
{
	struct hull_err err = {0};
	_cleanup_free_ char *text = spec_default_config(true, &err);
	CHECK(text != NULL);
	if (text == NULL)
		return;
	struct oci_spec s;
	CHECK(spec_parse(text, strlen(text), "/b", &s, &err) == 0);
	if (err.msg != NULL)
		printf("#   %s\n", err.msg);
	CHECK(oci_namespace(&s, CLONE_NEWUSER) != NULL);
	CHECK(oci_namespace(&s, CLONE_NEWNET) == NULL &&
	      oci_namespace(&s, CLONE_NEWCGROUP) == NULL);
	CHECK(s.linux_cfg.n_uid_mappings == 1 && s.linux_cfg.uid_mappings[0].host_id == getuid());
	CHECK(s.linux_cfg.uid_mappings[0].container_id == 0 &&
	      s.linux_cfg.uid_mappings[0].size == 1);
	CHECK(s.linux_cfg.n_gid_mappings == 1 && s.linux_cfg.gid_mappings[0].host_id == getgid());
	/* rootless: no rules of its own, only the standard ones */
	CHECK(s.linux_cfg.resources != NULL && s.linux_cfg.resources->n_devices > 0 &&
	      s.linux_cfg.resources->devices[0].allow);
	if (s.n_mounts == 7) {
		CHECK_STR(s.mounts[2].data, "newinstance,ptmxmode=0666,mode=0620");
		CHECK(s.mounts[5].bind && s.mounts[5].recursive);
		CHECK_STR(s.mounts[5].source, "/sys");
		CHECK(s.mounts[5].flags & MS_RDONLY);
	}
	CHECK(s.n_mounts == 7);
	spec_free(&s);
	hull_err_clear(&err);
}

int main(void)
{
	RUN(test_full_config);
	RUN(test_minimal_config);
	RUN(test_duplicate_keys_last_wins);
	RUN(test_minimal_process_defaults);
	RUN(test_malformed_json);
	RUN(test_wrong_types);
	RUN(test_process_required_fields);
	RUN(test_capabilities);
	RUN(test_unknown_capabilities_ignored);
	RUN(test_namespaces);
	RUN(test_oci_versions);
	RUN(test_mount_options);
	RUN(test_mount_option_names_all_known);
	RUN(test_mount_tmpcopyup);
	RUN(test_mount_errors);
	RUN(test_bind_source_resolution);
	RUN(test_id_mappings);
	RUN(test_time_offsets);
	RUN(test_rlimits);
	RUN(test_scheduler_and_ioprio);
	RUN(test_seccomp_names);
	RUN(test_seccomp_errno_and_notify);
	RUN(test_hooks);
	RUN(test_linux_misc_errors);
	RUN(test_spec_load_relative_bundle);
	RUN(test_default_config_roundtrip);
	RUN(test_default_config_rootless);
	return unit_done();
}
