/* nftables over nfnetlink: read table hull's rules at a ruleset generation, and apply a
 * changeset as one batch that the kernel refuses when someone changed the ruleset since
 * (NFNL_BATCH_GENID, -ERESTART): two hull processes publishing at once cannot both win. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "nat_int.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct nat_conn {
	struct mnl_socket *nl;
	uint32_t portid, seq;
};

struct nat_conn *nat_conn_open(struct hull_err *err)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		hull_error(err, errno, "open an nftables netlink socket");
		if (nl != NULL)
			mnl_socket_close(nl);
		return NULL;
	}
	struct nat_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		mnl_socket_close(nl);
		hull_error(err, ENOMEM, "nftables connection");
		return NULL;
	}
	/* Errors need not echo our whole batch back. */
	int one = 1;
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	c->nl = nl;
	c->portid = mnl_socket_get_portid(nl);
	c->seq = (uint32_t)time(NULL);
	return c;
}

/* Closing an nfnetlink socket soon after any commit waits for that commit's destroy work,
 * which waits for an RCU grace period (nf_tables' NETLINK_URELEASE handler flushes it, holding
 * the ruleset's commit lock): 5-15 ms on this VM for changes that are already live. So hull
 * does not close them: it parks them, and net_nat_release_sockets() hands them to a child
 * that closes them after hull has gone. */
#define NAT_PARKED_MAX 128
static struct mnl_socket *parked[NAT_PARKED_MAX];
static size_t nparked;

void nat_conn_close(struct nat_conn *c)
{
	if (c == NULL)
		return;
	if (nparked < NAT_PARKED_MAX)
		parked[nparked++] = c->nl;
	else
		mnl_socket_close(c->nl);
	free(c);
}

static int fd_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* close_range came with Linux 5.9; before it, one close per descriptor (the child is short
 * and this is its only work). */
static void close_fds(unsigned int lo, unsigned int hi)
{
	if (close_range(lo, hi, 0) == 0)
		return;
	for (unsigned int fd = lo; fd <= hi && fd < 65536; fd++)
		close((int)fd);
}

/* In the child: close every descriptor but the parked sockets (a lock or the caller's pipe
 * held here would outlive hull), then exit, which closes those and waits in hull's place. */
static _Noreturn void closer_child(void)
{
	int fds[NAT_PARKED_MAX] = {0};
	for (size_t i = 0; i < nparked; i++)
		fds[i] = mnl_socket_get_fd(parked[i]);
	qsort(fds, nparked, sizeof(fds[0]), fd_cmp);
	unsigned int lo = 0;
	for (size_t i = 0; i < nparked; i++) {
		if ((unsigned int)fds[i] > lo)
			close_fds(lo, (unsigned int)fds[i] - 1);
		lo = (unsigned int)fds[i] + 1;
	}
	close_fds(lo, ~0U);
	prctl(PR_SET_NAME, "hull-nft-close");
	_exit(0);
}

void net_nat_release_sockets(void)
{
	if (nparked == 0)
		return;
	/* If fork fails the closes below simply wait here. */
	if (fork() == 0)
		closer_child();
	for (size_t i = 0; i < nparked; i++)
		mnl_socket_close(parked[i]);
	nparked = 0;
}

/* Send one request and feed its replies to cb until done. */
static int request(struct nat_conn *c, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
		   const char *what, struct hull_err *err)
{
	char buf[32768]; /* a dump's largest message batch */
	uint32_t seq = nlh->nlmsg_seq;
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return hull_error(err, errno, "nftables: %s", what);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
		if (n < 0)
			return hull_error(err, errno, "nftables: %s", what);
		int r = mnl_cb_run(buf, (size_t)n, seq, c->portid, cb, data);
		if (r < 0)
			return hull_error(err, errno, "nftables: %s", what);
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *gen = nftnl_gen_alloc();
	if (gen == NULL)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, gen) == 0)
		*(uint32_t *)data = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
	nftnl_gen_free(gen);
	return MNL_CB_STOP;
}

static int rule_tag(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
		uint32_t len = nftnl_udata_len(attr);
		char *tag = data;
		if (len == 0 || len > NAT_TAG_MAX)
			return -1;
		memcpy(tag, nftnl_udata_get(attr), len);
		tag[len - 1] = '\0';
	}
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nat_rules *rules = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (r == NULL || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		if (r != NULL)
			nftnl_rule_free(r);
		return MNL_CB_ERROR;
	}
	struct nat_rule_ref ref = {.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE)};
	const char *chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	snprintf(ref.chain, sizeof(ref.chain), "%s", chain ? chain : "");
	uint32_t len = 0;
	const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	if (ud != NULL)
		(void)nftnl_udata_parse(ud, len, rule_tag, ref.tag);
	nftnl_rule_free(r);
	struct nat_rule_ref *v = realloc(rules->v, (rules->n + 1) * sizeof(*v));
	if (v == NULL)
		return MNL_CB_ERROR;
	rules->v = v;
	v[rules->n++] = ref;
	return MNL_CB_OK;
}

void nat_rules_free(struct nat_rules *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

int nat_snapshot(struct nat_conn *c, uint32_t *genid, struct nat_rules *out, struct hull_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, ++c->seq);
	if (request(c, nlh, gen_cb, genid, "read the ruleset generation", err) < 0)
		return -1;
	_cleanup_rule_ struct nftnl_rule *filter = nftnl_rule_alloc();
	if (filter == NULL)
		return hull_error(err, ENOMEM, "nftables: list rules");
	nftnl_rule_set_str(filter, NFTNL_RULE_TABLE, NAT_TABLE);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, ++c->seq);
	nftnl_rule_nlmsg_build_payload(nlh, filter);
	*out = (struct nat_rules){0};
	if (request(c, nlh, rule_cb, out, "list table inet " NAT_TABLE, err) < 0) {
		nat_rules_free(out);
		/* No table yet: no rules. */
		if (err->code != ENOENT)
			return -1;
		hull_err_clear(err);
	}
	return 0;
}

struct nat_batch {
	struct nat_conn *conn;
	struct mnl_nlmsg_batch *b;
	char *buf;
	bool full;
};

static char *cur(struct nat_batch *b)
{
	return mnl_nlmsg_batch_current(b->b);
}

static void next(struct nat_batch *b)
{
	if (!mnl_nlmsg_batch_next(b->b))
		b->full = true;
}

/* NFNL_MSG_BATCH_BEGIN by hand: libnftnl's helper cannot carry the generation. */
static void batch_begin(struct nat_batch *b, uint32_t genid)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(cur(b));
	nlh->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++b->conn->seq;
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
	next(b);
}

struct nat_batch *nat_batch_new(struct nat_conn *c, uint32_t genid, size_t nmsgs)
{
	/* A rule with its tag stays well under 1 KiB. */
	size_t limit = (nmsgs + 8) * 1024;
	struct nat_batch *b = calloc(1, sizeof(*b));
	/* libmnl lets the last message run past limit, up to twice its size. */
	char *buf = malloc(2 * limit);
	if (b == NULL || buf == NULL) {
		free(b);
		free(buf);
		return NULL;
	}
	b->buf = buf;
	b->conn = c;
	b->b = mnl_nlmsg_batch_start(b->buf, limit);
	batch_begin(b, genid);
	return b;
}

void nat_batch_free(struct nat_batch *b)
{
	if (b == NULL)
		return;
	mnl_nlmsg_batch_stop(b->b);
	free(b->buf);
	free(b);
}

static const struct {
	const char *name;
	uint32_t hook;
	int prio;
} nat_chains[] = {
    {NAT_PREROUTING, NF_INET_PRE_ROUTING, -100}, /* dstnat */
    {NAT_OUTPUT, NF_INET_LOCAL_OUT, -100},
    {NAT_POSTROUTING, NF_INET_POST_ROUTING, 100}, /* srcnat */
};

/* Adding without NLM_F_EXCL: an existing table or same-hook chain is kept as it is. */
void nat_batch_table_chains(struct nat_batch *b)
{
	struct nftnl_table *t = nftnl_table_alloc();
	if (t == NULL) {
		b->full = true;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NAT_TABLE);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(cur(b), NFT_MSG_NEWTABLE, NFPROTO_INET,
						     NLM_F_CREATE, ++b->conn->seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	next(b);
	for (size_t i = 0; i < sizeof(nat_chains) / sizeof(nat_chains[0]); i++) {
		struct nftnl_chain *ch = nftnl_chain_alloc();
		if (ch == NULL) {
			b->full = true;
			return;
		}
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NAT_TABLE);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, nat_chains[i].name);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "nat");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, nat_chains[i].hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, nat_chains[i].prio);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nlh = nftnl_nlmsg_build_hdr(cur(b), NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE,
					    ++b->conn->seq);
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		nftnl_chain_free(ch);
		next(b);
	}
}

void nat_batch_add_rule(struct nat_batch *b, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(cur(b), NFT_MSG_NEWRULE, NFPROTO_INET,
						     NLM_F_CREATE | NLM_F_APPEND, ++b->conn->seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	next(b);
}

void nat_batch_del_rule(struct nat_batch *b, const struct nat_rule_ref *ref)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (r == NULL) {
		b->full = true;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NAT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, ref->chain);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, ref->handle);
	struct nlmsghdr *nlh =
	    nftnl_nlmsg_build_hdr(cur(b), NFT_MSG_DELRULE, NFPROTO_INET, 0, ++b->conn->seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	next(b);
}

void nat_batch_del_table(struct nat_batch *b)
{
	struct nftnl_table *t = nftnl_table_alloc();
	if (t == NULL) {
		b->full = true;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NAT_TABLE);
	struct nlmsghdr *nlh =
	    nftnl_nlmsg_build_hdr(cur(b), NFT_MSG_DELTABLE, NFPROTO_INET, 0, ++b->conn->seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	next(b);
}

/* nfnetlink runs the whole batch inside sendmsg, so every reply is queued when it returns;
 * without NLM_F_ACK only errors reply, and an empty queue means it all applied. */
static int read_errors(struct nat_conn *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int fd = mnl_socket_get_fd(c->nl), first = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? first : errno;
		if (mnl_cb_run(buf, (size_t)n, 0, c->portid, NULL, NULL) < 0 && first == 0)
			first = errno ? errno : EPROTO;
	}
}

int nat_batch_commit(struct nat_conn *c, struct nat_batch *b, const char *what,
		     struct hull_err *err)
{
	if (b == NULL || b->full)
		return hull_error(err, ENOMEM, "nftables: %s: batch too large", what);
	nftnl_batch_end(cur(b), ++c->seq);
	next(b);
	if (b->full)
		return hull_error(err, ENOMEM, "nftables: %s: batch too large", what);
	if (mnl_socket_sendto(c->nl, mnl_nlmsg_batch_head(b->b), mnl_nlmsg_batch_size(b->b)) < 0)
		return hull_error(err, errno, "nftables: %s", what);
	int code = read_errors(c);
	if (code != 0)
		return hull_error(err, code, "nftables: %s", what);
	return 0;
}
