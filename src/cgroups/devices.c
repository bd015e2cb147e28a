/* linux.resources.devices: the device allowlist. runtime-spec config-linux.md says the
 * entries are applied in the listed order, which is what cgroup v1 does with writes to
 * devices.allow and devices.deny; cgroup v2 has no such files, so we compute the state
 * those writes leave (as runc's device emulator does) and compile it to a BPF program.
 * Both hierarchies thus give the same answers for the same list.
 *
 * The v1 kernel keeps a default (allow or deny) and a list of exceptions matched by exact
 * type/major/minor; a write that goes with the default takes access bits off a matching
 * exception, one against it adds (merges) them (cgroup-v1/devices.rst). An access is
 * allowed under default-deny when one exception covers all of it, and denied under
 * default-allow when any exception touches part of it. So "the last matching rule wins"
 * is only roughly true: a later "deny c 1:3 w" narrows an earlier "allow c 1:3 rwm", but
 * a deny of 1:3 does not carve a hole in an "allow c *:* rwm". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "resources.h"

static unsigned access_bits(const char *s)
{
	unsigned bits = 0;
	for (; *s; s++)
		bits |= *s == 'r' ? 1u : *s == 'w' ? 2u : *s == 'm' ? 4u : 0u;
	return bits;
}

static void access_text(unsigned bits, char out[4])
{
	size_t k = 0;
	for (int i = 0; i < 3; i++)
		if (bits & (1u << i))
			out[k++] = "rwm"[i];
	out[k] = '\0';
}

static struct oci_device_rule *find_exact(struct cgroup_dev_policy *p,
					  const struct oci_device_rule *r)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ex[i].type == r->type && p->ex[i].major == r->major &&
		    p->ex[i].minor == r->minor)
			return &p->ex[i];
	return NULL;
}

/* One c or b rule, as the kernel's dev_exception_add / dev_exception_rm treat it. */
static void policy_step(struct cgroup_dev_policy *p, const struct oci_device_rule *r)
{
	struct oci_device_rule *ex = find_exact(p, r);
	unsigned bits = access_bits(r->access);
	if (r->allow != p->default_allow) {
		if (ex == NULL) {
			ex = &p->ex[p->n++];
			*ex = *r;
			ex->access[0] = '\0';
		}
		ex->allow = r->allow;
		access_text(access_bits(ex->access) | bits, ex->access);
		return;
	}
	if (ex == NULL)
		return;
	access_text(access_bits(ex->access) & ~bits, ex->access);
	if (ex->access[0] == '\0') {
		size_t i = (size_t)(ex - p->ex);
		memmove(&p->ex[i], &p->ex[i + 1], (p->n - i - 1) * sizeof *ex);
		p->n--;
	}
}

int cgroup_dev_policy_build(const struct oci_device_rule *rules, size_t n,
			    struct cgroup_dev_policy *p, struct hull_err *err)
{
	/* Writing the list starts from "a" to devices.deny: default deny, no exceptions. */
	*p = (struct cgroup_dev_policy){.default_allow = false};
	p->ex = calloc(2 * n + 1, sizeof *p->ex);
	if (p->ex == NULL)
		return hull_error(err, ENOMEM, "device rules");
	for (size_t i = 0; i < n; i++) {
		struct oci_device_rule parts[2];
		bool allow = false;
		size_t k = cgroup_device_split(&rules[i], parts, &allow);
		if (k == 0) {
			p->default_allow = allow;
			p->n = 0;
		}
		for (size_t j = 0; j < k; j++)
			policy_step(p, &parts[j]);
	}
	return 0;
}

void cgroup_dev_policy_free(struct cgroup_dev_policy *p)
{
	free(p->ex);
	p->ex = NULL;
	p->n = 0;
}

static bool matches(const struct oci_device_rule *ex, char type, uint32_t major, uint32_t minor)
{
	return ex->type == type && (ex->major < 0 || ex->major == (int64_t)major) &&
	       (ex->minor < 0 || ex->minor == (int64_t)minor);
}

bool cgroup_dev_allowed(const struct cgroup_dev_policy *p, char type, uint32_t major,
			uint32_t minor, const char *access)
{
	unsigned want = access_bits(access);
	for (size_t i = 0; i < p->n; i++) {
		if (!matches(&p->ex[i], type, major, minor))
			continue;
		unsigned have = access_bits(p->ex[i].access);
		if (!p->default_allow && (want & ~have) == 0)
			return true;
		if (p->default_allow && (want & have) != 0)
			return false;
	}
	return p->default_allow;
}

/* ---- applying ---- */

static int v1_write(const struct res_target *t, const char *file, const char *text, size_t i,
		    struct hull_err *err)
{
	char field[48];
	snprintf(field, sizeof field, "devices[%zu]", i);
	return res_write(t, file, text, field, err);
}

/* The rules written in order after denying everything, as the runtime-spec says. */
static int apply_v1(const struct res_target *t, const struct oci_resources *r, struct hull_err *err)
{
	if (res_write(t, "devices.deny", "a", "devices", err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_devices; i++) {
		struct oci_device_rule parts[2];
		bool allow = false;
		size_t k = cgroup_device_split(&r->devices[i], parts, &allow);
		if (k == 0 &&
		    v1_write(t, allow ? "devices.allow" : "devices.deny", "a", i, err) < 0)
			return -1;
		for (size_t j = 0; j < k; j++) {
			char text[64];
			cgroup_v1_device_text(&parts[j], text);
			if (v1_write(t, parts[j].allow ? "devices.allow" : "devices.deny", text, i,
				     err) < 0)
				return -1;
		}
	}
	return 0;
}

static void policy_freep(struct cgroup_dev_policy *p)
{
	cgroup_dev_policy_free(p);
}

static int apply_v2(const char *dir, const struct oci_resources *r, struct hull_err *err)
{
	__attribute__((cleanup(policy_freep))) struct cgroup_dev_policy p = {0};
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n = 0;
	if (cgroup_dev_policy_build(r->devices, r->n_devices, &p, err) < 0 ||
	    cgroup_dev_bpf_insns(&p, &insns, &n, err) < 0)
		return -1;
	_cleanup_close_ int prog = cgroup_dev_bpf_load(insns, n, err);
	if (prog < 0)
		return hull_error_wrap(err, "linux.resources.devices");
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "linux.resources.devices: open %s", dir);
	if (cgroup_dev_bpf_attach(fd, prog, err) < 0)
		return hull_error_wrap(err, "linux.resources.devices: %s", dir);
	return 0;
}

int res_devices(const struct cgroup *cg, const struct oci_resources *r, struct hull_err *err)
{
	/* No rules (an update that does not touch devices): leave the policy as it is. */
	if (r->n_devices == 0)
		return 0;
	struct res_target t;
	int found = res_find(cg, "devices", NULL, &t, err);
	if (found < 0)
		return -1;
	if (found > 0)
		return apply_v1(&t, r, err);
	const char *dir = res_v2_dir(cg);
	if (dir == NULL)
		return res_fail("devices", "no devices controller and no cgroup2 on this host",
				err);
	return apply_v2(dir, r, err);
}
