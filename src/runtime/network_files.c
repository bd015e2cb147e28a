/* /etc/hosts, /etc/hostname and /etc/resolv.conf for a bridged container: files in its state
 * directory bind-mounted over the rootfs's (which stays untouched), unless the bundle mounts
 * its own at that path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "network_internal.h"

static bool mounted_by_bundle(const struct oci_spec *spec, const char *dest)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (strcmp(spec->mounts[i].destination, dest) == 0)
			return true;
	return false;
}

static int write_text(int dir_fd, const char *name, const char *text, struct hull_err *err)
{
	_cleanup_close_ int fd =
	    openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return hull_error(err, errno, "write %s", name);
	return 0;
}

/* The host's resolv.conf without loopback name servers, which mean nothing inside. */
static char *resolv_conf(void)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	if (out == NULL)
		return NULL;
	FILE *in = fopen("/etc/resolv.conf", "re");
	char line[512];
	while (in != NULL && fgets(line, sizeof line, in)) {
		char addr[128];
		if (sscanf(line, " nameserver %127s", addr) == 1 &&
		    (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0))
			continue;
		fputs(line, out);
	}
	if (in != NULL)
		fclose(in);
	fclose(out);
	return text;
}

static int add_mount(struct oci_spec *spec, const char *dir, const char *name, const char *dest)
{
	struct oci_mount *m = arena_alloc(&spec->arena, (spec->n_mounts + 2) * sizeof *m);
	if (spec->n_mounts)
		memcpy(m, spec->mounts, spec->n_mounts * sizeof *m);
	struct oci_mount *n = &m[spec->n_mounts];
	n->destination = arena_strdup(&spec->arena, dest);
	n->type = arena_strdup(&spec->arena, "bind");
	n->source = arena_printf(&spec->arena, "%s/%s", dir, name);
	n->bind = true;
	n->flags = MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	spec->mounts = m;
	spec->n_mounts++;
	return 0;
}

static int one_file(struct container *c, const char *dir, const char *name, const char *dest,
		    const char *text, struct hull_err *err)
{
	if (mounted_by_bundle(&c->spec, dest))
		return 0;
	if (text == NULL)
		return hull_error(err, ENOMEM, "write %s", name);
	if (write_text(c->dir_fd, name, text, err) < 0)
		return -1;
	return add_mount(&c->spec, dir, name, dest);
}

int net_files_prepare(struct container *c, const struct net_plan *p, struct hull_err *err)
{
	char link[64], dir[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", c->dir_fd);
	ssize_t n = readlink(link, dir, sizeof dir - 1);
	if (n < 0)
		return hull_error(err, errno, "readlink %s", link);
	dir[n] = 0;
	const char *host = c->spec.hostname ? c->spec.hostname : c->st.id;
	_cleanup_free_ char *hosts = NULL, *hostname = NULL, *resolv = resolv_conf();
	if (asprintf(&hosts,
		     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		     "%s\t%s\n%s\t%s\n",
		     p->ip4, host, p->ip6, host) < 0 ||
	    asprintf(&hostname, "%s\n", host) < 0)
		return hull_error(err, ENOMEM, "network files");
	if (one_file(c, dir, "hosts", "/etc/hosts", hosts, err) < 0 ||
	    one_file(c, dir, "hostname", "/etc/hostname", hostname, err) < 0 ||
	    one_file(c, dir, "resolv.conf", "/etc/resolv.conf", resolv, err) < 0)
		return -1;
	return 0;
}
