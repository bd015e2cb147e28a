/* netsetup: rtnetlink message building and reply parsing, without a socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdlib.h>

#include "netsetup/netsetup.h"
#include "unit.h"

struct found {
	const struct nlattr *tb[IFLA_MAX + 1];
};

static int put_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	if (mnl_attr_get_type(a) <= IFLA_MAX)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void test_veth_message(void)
{
	static char buf[NET_MSG_SIZE];
	static const uint8_t mac[6] = {0x02, 0x68, 10, 89, 0, 7};
	struct nlmsghdr *nlh = net_msg_veth(buf, "hv1234", "eth0", 7, mac);
	CHECK(nlh->nlmsg_type == RTM_NEWLINK);
	CHECK(nlh->nlmsg_flags & NLM_F_CREATE);
	CHECK(nlh->nlmsg_flags & NLM_F_EXCL);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	CHECK(mnl_attr_parse(nlh, sizeof(struct ifinfomsg), put_cb, tb) == MNL_CB_OK);
	CHECK(tb[IFLA_IFNAME] && strcmp(mnl_attr_get_str(tb[IFLA_IFNAME]), "hv1234") == 0);
	CHECK(tb[IFLA_LINKINFO] != NULL);
	const struct nlattr *info[IFLA_INFO_MAX + 1] = {0};
	mnl_attr_parse_nested(tb[IFLA_LINKINFO], put_cb, info);
	CHECK_STR(mnl_attr_get_str(info[IFLA_INFO_KIND]), "veth");
	const struct nlattr *data[VETH_INFO_MAX + 1] = {0};
	mnl_attr_parse_nested(info[IFLA_INFO_DATA], put_cb, data);
	CHECK(data[VETH_INFO_PEER] != NULL);
	/* The peer: an ifinfomsg, then its own attributes. */
	const char *p = mnl_attr_get_payload(data[VETH_INFO_PEER]);
	int len = (int)mnl_attr_get_payload_len(data[VETH_INFO_PEER]) -
		  (int)MNL_ALIGN(sizeof(struct ifinfomsg));
	const struct nlattr *peer[IFLA_MAX + 1] = {0};
	for (const struct nlattr *a = (const void *)(p + MNL_ALIGN(sizeof(struct ifinfomsg)));
	     mnl_attr_ok(a, len); a = mnl_attr_next(a)) {
		len -= (int)MNL_ALIGN(a->nla_len);
		put_cb(a, peer);
	}
	CHECK(peer[IFLA_IFNAME] && strcmp(mnl_attr_get_str(peer[IFLA_IFNAME]), "eth0") == 0);
	CHECK(peer[IFLA_NET_NS_FD] && mnl_attr_get_u32(peer[IFLA_NET_NS_FD]) == 7);
	CHECK(peer[IFLA_ADDRESS] && mnl_attr_get_payload_len(peer[IFLA_ADDRESS]) == 6 &&
	      memcmp(mnl_attr_get_payload(peer[IFLA_ADDRESS]), mac, 6) == 0);
	uint8_t derived[6];
	net_mac_of_ip4("10.89.0.7", derived);
	CHECK(memcmp(derived, mac, 6) == 0);
}

static void test_hairpin_message(void)
{
	static char buf[NET_MSG_SIZE];
	struct nlmsghdr *nlh = net_msg_bridge_port_hairpin(buf, 42);
	CHECK(nlh->nlmsg_type == RTM_SETLINK);
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	/* Bridge port options go to the bridge driver: family AF_BRIDGE, IFLA_PROTINFO. */
	CHECK(ifi->ifi_family == AF_BRIDGE && ifi->ifi_index == 42);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	CHECK(mnl_attr_parse(nlh, sizeof(struct ifinfomsg), put_cb, tb) == MNL_CB_OK);
	CHECK(tb[IFLA_PROTINFO] != NULL && (tb[IFLA_PROTINFO]->nla_type & NLA_F_NESTED));
	const struct nlattr *port[IFLA_BRPORT_MAX + 1] = {0};
	if (tb[IFLA_PROTINFO] != NULL)
		mnl_attr_parse_nested(tb[IFLA_PROTINFO], put_cb, port);
	CHECK(port[IFLA_BRPORT_MODE] && mnl_attr_get_u8(port[IFLA_BRPORT_MODE]) == 1);
}

static void test_link_change(void)
{
	static char buf[NET_MSG_SIZE];
	struct net_link_change ch = {
	    .index = 5, .up = 1, .mtu = 1400, .master = 2, .name = "eth0", .netns_fd = -1};
	struct nlmsghdr *nlh = net_msg_link_change(buf, &ch);
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	CHECK(ifi->ifi_index == 5);
	CHECK(ifi->ifi_flags & IFF_UP);
	CHECK(ifi->ifi_change == IFF_UP);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	mnl_attr_parse(nlh, sizeof *ifi, put_cb, tb);
	CHECK(tb[IFLA_MTU] && mnl_attr_get_u32(tb[IFLA_MTU]) == 1400);
	CHECK(tb[IFLA_MASTER] && mnl_attr_get_u32(tb[IFLA_MASTER]) == 2);
	CHECK(tb[IFLA_NET_NS_FD] == NULL);
	struct net_link_change down = {.index = 5, .up = -1, .netns_fd = -1};
	nlh = net_msg_link_change(buf, &down);
	ifi = mnl_nlmsg_get_payload(nlh);
	CHECK(ifi->ifi_change == 0);
}

static void test_addr_and_route(void)
{
	static char buf[NET_MSG_SIZE];
	struct in6_addr a6;
	inet_pton(AF_INET6, "fd89:a59::a59:2", &a6);
	struct nlmsghdr *nlh = net_msg_addr(buf, 3, AF_INET6, &a6, 64);
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	CHECK(nlh->nlmsg_type == RTM_NEWADDR);
	CHECK(ifa->ifa_family == AF_INET6 && ifa->ifa_prefixlen == 64 && ifa->ifa_index == 3);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	mnl_attr_parse(nlh, sizeof *ifa, put_cb, tb);
	CHECK(tb[IFA_LOCAL] && mnl_attr_get_payload_len(tb[IFA_LOCAL]) == 16);
	CHECK(tb[IFA_FLAGS] && (mnl_attr_get_u32(tb[IFA_FLAGS]) & IFA_F_NODAD));
	struct in_addr gw;
	inet_pton(AF_INET, "10.89.0.1", &gw);
	nlh = net_msg_default_route(buf, 3, AF_INET, &gw);
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	CHECK(nlh->nlmsg_type == RTM_NEWROUTE && rt->rtm_dst_len == 0);
	const struct nlattr *rtb[IFLA_MAX + 1] = {0};
	mnl_attr_parse(nlh, sizeof *rt, put_cb, rtb);
	CHECK(rtb[RTA_GATEWAY] && memcmp(mnl_attr_get_payload(rtb[RTA_GATEWAY]), &gw, 4) == 0);
	CHECK(rtb[RTA_OIF] && mnl_attr_get_u32(rtb[RTA_OIF]) == 3);
}

/* An error reply as the kernel sends it with NETLINK_CAP_ACK and NETLINK_EXT_ACK. */
static size_t error_reply(char *buf, uint32_t seq, int error, const char *text)
{
	memset(buf, 0, NET_MSG_SIZE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = NLM_F_CAPPED | (text ? NLM_F_ACK_TLVS : 0);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof *e);
	e->error = error;
	e->msg.nlmsg_len = sizeof(struct nlmsghdr);
	if (text)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	return nlh->nlmsg_len;
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(int *)data)++;
	return 0;
}

static void test_parse_replies(void)
{
	static char buf[NET_MSG_SIZE];
	struct hull_err err = {0};
	size_t n = error_reply(buf, 9, -EEXIST, "File exists in the bridge table");
	CHECK(net_nl_parse(buf, n, 9, NULL, NULL, "create bridge x", &err) < 0);
	CHECK(err.code == EEXIST);
	CHECK_STR(err.msg, "create bridge x: File exists in the bridge table");
	hull_err_clear(&err);
	n = error_reply(buf, 9, -ENODEV, NULL);
	CHECK(net_nl_parse(buf, n, 9, NULL, NULL, "find link y", &err) < 0);
	CHECK(err.code == ENODEV);
	CHECK_STR(err.msg, "find link y");
	hull_err_clear(&err);
	n = error_reply(buf, 9, 0, NULL);
	CHECK(net_nl_parse(buf, n, 9, NULL, NULL, "ack", &err) == 1);
	CHECK(net_nl_parse(buf, n, 10, NULL, NULL, "other seq", &err) == 0);
	/* A data reply goes to the callback; more may follow. */
	memset(buf, 0, sizeof buf);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_seq = 4;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	int calls = 0;
	CHECK(net_nl_parse(buf, nlh->nlmsg_len, 4, count_cb, &calls, "get", &err) == 0);
	CHECK(calls == 1);
	nlh->nlmsg_type = NLMSG_DONE;
	CHECK(net_nl_parse(buf, nlh->nlmsg_len, 4, count_cb, &calls, "get", &err) == 1);
	CHECK(calls == 1);
	hull_err_clear(&err);
}

int main(void)
{
	RUN(test_veth_message);
	RUN(test_hairpin_message);
	RUN(test_link_change);
	RUN(test_addr_and_route);
	RUN(test_parse_replies);
	return unit_done();
}
