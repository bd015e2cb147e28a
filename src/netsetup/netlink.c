/* One rtnetlink socket per network namespace: requests with acks, replies to callbacks, and
 * the kernel's extended ack text (rtnetlink(7), netlink(7): NETLINK_EXT_ACK) in errors. */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netsetup.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct net_nl {
	struct mnl_socket *sock;
	uint32_t seq, portid;
};

/* A netlink socket stays in the namespace it was made in, so visit it only to make one. */
static struct mnl_socket *open_in(int netns_fd, struct hull_err *err)
{
	_cleanup_close_ int home = -1;
	if (netns_fd >= 0) {
		home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (home < 0 || setns(netns_fd, CLONE_NEWNET) < 0) {
			hull_error(err, errno, "enter the container's network namespace");
			return NULL;
		}
	}
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int saved = errno;
	if (home >= 0 && setns(home, CLONE_NEWNET) < 0)
		abort(); /* running on in the wrong namespace would touch the wrong links */
	if (s == NULL)
		hull_error(err, saved, "open a netlink socket");
	return s;
}

struct net_nl *net_nl_open(int netns_fd, struct hull_err *err)
{
	struct mnl_socket *s = open_in(netns_fd, err);
	if (s == NULL)
		return NULL;
	int on = 1;
	mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &on, sizeof on);
	mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &on, sizeof on);
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		hull_error(err, errno, "bind a netlink socket");
		mnl_socket_close(s);
		return NULL;
	}
	struct net_nl *nl = calloc(1, sizeof *nl);
	if (nl == NULL) {
		mnl_socket_close(s);
		hull_error(err, ENOMEM, "netlink");
		return NULL;
	}
	nl->sock = s;
	nl->portid = mnl_socket_get_portid(s);
	nl->seq = (uint32_t)getpid() << 8;
	return nl;
}

void net_nl_close(struct net_nl *nl)
{
	if (nl == NULL)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

static const char *extack_text(const struct nlmsghdr *nlh, const struct nlmsgerr *e)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	size_t off = sizeof *e;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	size_t hdr = MNL_ALIGN(sizeof(struct nlmsghdr));
	if (hdr + off > nlh->nlmsg_len)
		return NULL;
	const struct nlattr *a;
	const char *base = (const char *)mnl_nlmsg_get_payload(nlh) + off;
	int left = (int)(nlh->nlmsg_len - hdr - off);
	for (a = (const struct nlattr *)base; mnl_attr_ok(a, left); a = mnl_attr_next(a)) {
		left -= MNL_ALIGN(a->nla_len);
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

static int error_reply(const struct nlmsghdr *nlh, const char *what, struct hull_err *err)
{
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
		return hull_error(err, EPROTO, "%s: short netlink error", what);
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	if (e->error == 0)
		return 1;
	const char *text = extack_text(nlh, e);
	if (text != NULL && *text)
		return hull_error(err, -e->error, "%s: %s", what, text);
	return hull_error(err, -e->error, "%s", what);
}

int net_nl_parse(const void *buf, size_t len, uint32_t seq, net_nl_cb cb, void *data,
		 const char *what, struct hull_err *err)
{
	int left = (int)len;
	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_seq != seq)
			continue;
		if (nlh->nlmsg_type == NLMSG_ERROR)
			return error_reply(nlh, what, err);
		if (nlh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && cb != NULL && cb(nlh, data) < 0)
			return hull_error(err, EPROTO, "%s: bad reply", what);
	}
	return 0;
}

int net_nl_talk(struct net_nl *nl, struct nlmsghdr *nlh, net_nl_cb cb, void *data, const char *what,
		struct hull_err *err)
{
	nlh->nlmsg_seq = ++nl->seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return hull_error(err, errno, "%s: netlink send", what);
	_cleanup_free_ char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (buf == NULL)
		return hull_error(err, ENOMEM, "%s", what);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_error(err, errno, "%s: netlink receive", what);
		int r = net_nl_parse(buf, (size_t)n, nl->seq, cb, data, what, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
}
