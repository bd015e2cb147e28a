/* IPv4 address leases: "<dir>/<bridge>.leases" holds "ADDRESS ID" lines, rewritten whole
 * (temporary file renamed into place) under an flock on "<dir>/<bridge>.lock", so parallel
 * creates never share an address and a crash never leaves a half-written file. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netsetup.h"

#define MAX_LEASES 65536
#define ID_MAX	   1024

int net_subnet_parse(const char *cidr, struct net_subnet *out, struct hull_err *err)
{
	char text[64];
	snprintf(text, sizeof text, "%s", cidr);
	char *slash = strchr(text, '/');
	struct in_addr a;
	char *end = NULL;
	long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
	if (slash)
		*slash = 0;
	if (!slash || *end || prefix < 8 || prefix > 30 || inet_pton(AF_INET, text, &a) != 1)
		return hull_error(err, 0, "bad IPv4 subnet \"%s\" (want A.B.C.D/8..30)", cidr);
	uint32_t mask = ~0u << (32 - prefix);
	out->net = ntohl(a.s_addr) & mask;
	out->prefix = (int)prefix;
	return 0;
}

static uint32_t subnet_last(const struct net_subnet *s)
{
	return s->net | ~(~0u << (32 - s->prefix));
}

static bool usable(const struct net_subnet *s, uint32_t a)
{
	return (a & (~0u << (32 - s->prefix))) == s->net && a > s->net + 1 && a < subnet_last(s);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int net_ipam_pick(const struct net_subnet *s, const uint32_t *taken, size_t n, uint32_t *out)
{
	_cleanup_free_ uint32_t *sorted = malloc((n + 1) * sizeof *sorted);
	if (sorted == NULL)
		return -1;
	if (n)
		memcpy(sorted, taken, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_u32);
	uint32_t cand = s->net + 2;
	for (size_t i = 0; i < n && cand < subnet_last(s); i++) {
		if (sorted[i] == cand)
			cand++;
		else if (sorted[i] > cand)
			break;
	}
	if (!usable(s, cand))
		return -1;
	*out = cand;
	return 0;
}

struct lease {
	uint32_t addr;
	char id[ID_MAX];
};

struct leases {
	struct lease *v;
	size_t n;
};

static int read_leases(int dir_fd, const char *bridge, struct leases *l, struct hull_err *err)
{
	char name[64];
	snprintf(name, sizeof name, "%s.leases", bridge);
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	_cleanup_fclose_ FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	if (f == NULL)
		return hull_error(err, errno, "read %s", name);
	char addr[64], id[ID_MAX];
	while (l->n < MAX_LEASES && fscanf(f, "%63s %1023s", addr, id) == 2) {
		struct in_addr a;
		if (inet_pton(AF_INET, addr, &a) != 1)
			continue;
		struct lease *v = realloc(l->v, (l->n + 1) * sizeof *v);
		if (v == NULL)
			return hull_error(err, ENOMEM, "read %s", name);
		l->v = v;
		v[l->n].addr = ntohl(a.s_addr);
		snprintf(v[l->n].id, ID_MAX, "%s", id);
		l->n++;
	}
	return 0;
}

static int write_leases(int dir_fd, const char *bridge, const struct leases *l,
			struct hull_err *err)
{
	char name[64], tmp[80];
	snprintf(name, sizeof name, "%s.leases", bridge);
	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	_cleanup_fclose_ FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (f == NULL)
		return hull_error(err, errno, "write %s", tmp);
	for (size_t i = 0; i < l->n; i++) {
		struct in_addr a = {htonl(l->v[i].addr)};
		fprintf(f, "%s %s\n", inet_ntoa(a), l->v[i].id);
	}
	/* No fsync: the rename keeps readers from a half-written file, and the leases, like
	 * the containers they belong to, mean nothing after a reboot (--root is on /run). */
	if (fflush(f) != 0 || renameat(dir_fd, tmp, dir_fd, name) < 0)
		return hull_error(err, errno, "write %s", name);
	return 0;
}

/* The lease directory, created when missing, and its bridge's lock held. */
static int lock_dir(const char *dir, const char *bridge, int *lock_fd, struct hull_err *err)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return hull_error(err, errno, "create %s", dir);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hull_error(err, errno, "open %s", dir);
	char name[64];
	snprintf(name, sizeof name, "%s.lock", bridge);
	*lock_fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX) < 0) {
		close(dfd);
		return hull_error(err, errno, "lock %s/%s", dir, name);
	}
	return dfd;
}

static int choose(const struct net_subnet *s, const struct leases *l, const char *want,
		  uint32_t *out, struct hull_err *err)
{
	if (want == NULL) {
		_cleanup_free_ uint32_t *taken = malloc((l->n + 1) * sizeof *taken);
		if (taken == NULL)
			return hull_error(err, ENOMEM, "allocate an address");
		for (size_t i = 0; i < l->n; i++)
			taken[i] = l->v[i].addr;
		if (net_ipam_pick(s, taken, l->n, out) < 0)
			return hull_error(err, 0, "no free address left in the subnet");
		return 0;
	}
	struct in_addr a;
	if (inet_pton(AF_INET, want, &a) != 1)
		return hull_error(err, 0, "--ip %s: not an IPv4 address", want);
	*out = ntohl(a.s_addr);
	if (!usable(s, *out)) {
		struct in_addr n = {htonl(s->net)};
		return hull_error(err, 0, "--ip %s: outside the usable addresses of %s/%d", want,
				  inet_ntoa(n), s->prefix);
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].addr == *out)
			return hull_error(err, 0, "--ip %s: already taken by container %s", want,
					  l->v[i].id);
	return 0;
}

int net_ipam_alloc(const char *dir, const char *bridge, const struct net_subnet *s, const char *id,
		   const char *want, char out[16], struct hull_err *err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_close_ int dfd = lock_dir(dir, bridge, &lock, err);
	if (dfd < 0)
		return -1;
	struct leases l = {0};
	uint32_t addr;
	int r = read_leases(dfd, bridge, &l, err);
	if (r == 0)
		r = choose(s, &l, want, &addr, err);
	if (r == 0) {
		struct lease *v = realloc(l.v, (l.n + 1) * sizeof *v);
		r = v ? 0 : hull_error(err, ENOMEM, "lease");
		if (v) {
			l.v = v;
			v[l.n].addr = addr;
			snprintf(v[l.n++].id, ID_MAX, "%s", id);
			r = write_leases(dfd, bridge, &l, err);
		}
	}
	free(l.v);
	if (r == 0) {
		struct in_addr a = {htonl(addr)};
		snprintf(out, 16, "%s", inet_ntoa(a));
	}
	return r;
}

int net_ipam_release(const char *dir, const char *bridge, const char *id, int *held_lock,
		     struct hull_err *err)
{
	if (held_lock)
		*held_lock = -1;
	if (access(dir, F_OK) < 0)
		return 0;
	_cleanup_close_ int lock = -1;
	_cleanup_close_ int dfd = lock_dir(dir, bridge, &lock, err);
	if (dfd < 0)
		return -1;
	struct leases l = {0};
	int r = read_leases(dfd, bridge, &l, err);
	size_t kept = 0;
	for (size_t i = 0; r == 0 && i < l.n; i++)
		if (id == NULL || strcmp(l.v[i].id, id) != 0)
			l.v[kept++] = l.v[i];
	if (r == 0 && kept != l.n) {
		l.n = kept;
		r = write_leases(dfd, bridge, &l, err);
	}
	free(l.v);
	if (r < 0)
		return -1;
	if (held_lock)
		*held_lock = steal_fd(&lock);
	return (int)kept;
}

int net_ipam_count(const char *dir, const char *bridge, struct hull_err *err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	struct leases l = {0};
	int r = read_leases(dfd, bridge, &l, err);
	free(l.v);
	return r < 0 ? -1 : (int)l.n;
}
