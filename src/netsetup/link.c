/* Links: bridge, veth pairs, up/down, MTU, master, namespace moves, rename, delete. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "netsetup.h"

static struct nlmsghdr *link_msg(void *buf, int type, unsigned flags, int index)
{
	memset(buf, 0, NET_MSG_SIZE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return nlh;
}

struct nlmsghdr *net_msg_bridge(void *buf, const char *name)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

struct nlmsghdr *net_msg_veth(void *buf, const char *name, const char *peer, int peer_netns_fd,
			      const uint8_t peer_mac[6])
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's attributes. */
	struct nlattr *p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	struct ifinfomsg *pi = mnl_nlmsg_put_extra_header(nlh, sizeof *pi);
	pi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	if (peer_mac != NULL)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

struct nlmsghdr *net_msg_link_change(void *buf, const struct net_link_change *ch)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, ch->index);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	if (ch->up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = ch->up ? IFF_UP : 0;
	}
	if (ch->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, ch->mtu);
	if (ch->master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)ch->master);
	if (ch->name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, ch->name);
	if (ch->netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)ch->netns_fd);
	if (ch->alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, ch->alias);
	return nlh;
}

static int kind_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(data, 32, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct net_link_info *out = data;
	if (mnl_attr_get_type(a) == IFLA_MTU && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		out->mtu = mnl_attr_get_u32(a);
	if (mnl_attr_get_type(a) == IFLA_LINKINFO && mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
		mnl_attr_parse_nested(a, kind_cb, out->kind);
	if (mnl_attr_get_type(a) == IFLA_IFALIAS && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(out->alias, sizeof out->alias, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct net_link_info *out = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	out->index = ifi->ifi_index;
	mnl_attr_parse(nlh, sizeof *ifi, link_attr_cb, out);
	return 0;
}

int net_link_get(struct net_nl *nl, const char *name, struct net_link_info *out,
		 struct hull_err *err)
{
	char buf[NET_MSG_SIZE];
	*out = (struct net_link_info){0};
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	char what[64];
	snprintf(what, sizeof what, "find link %s", name);
	struct hull_err e = {0};
	if (net_nl_talk(nl, nlh, link_cb, out, what, &e) < 0) {
		if (e.code == ENODEV) {
			hull_err_clear(&e);
			return 0;
		}
		*err = e;
		return -1;
	}
	return 0;
}

struct ports {
	int master, n;
};

static int master_attr_cb(const struct nlattr *a, void *data)
{
	struct ports *p = data;
	if (mnl_attr_get_type(a) == IFLA_MASTER && mnl_attr_validate(a, MNL_TYPE_U32) >= 0 &&
	    (int)mnl_attr_get_u32(a) == p->master)
		p->n++;
	return MNL_CB_OK;
}

static int port_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), master_attr_cb, data);
	return 0;
}

int net_bridge_port_count(struct net_nl *nl, int bridge_index, struct hull_err *err)
{
	char buf[NET_MSG_SIZE];
	struct ports p = {.master = bridge_index};
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, 0);
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)bridge_index); /* the kernel filters */
	if (net_nl_talk(nl, nlh, port_cb, &p, "list bridge ports", err) < 0)
		return -1;
	return p.n;
}

struct nlmsghdr *net_msg_bridge_port_hairpin(void *buf, int index)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, index);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_family = AF_BRIDGE; /* port options are the bridge driver's */
	struct nlattr *port = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
	mnl_attr_nest_end(nlh, port);
	return nlh;
}

int net_bridge_port_hairpin(struct net_nl *nl, int index, struct hull_err *err)
{
	char buf[NET_MSG_SIZE];
	return net_nl_talk(nl, net_msg_bridge_port_hairpin(buf, index), NULL, NULL,
			   "set hairpin mode on the bridge port", err);
}

int net_link_apply(struct net_nl *nl, const struct net_link_change *ch, struct hull_err *err)
{
	char buf[NET_MSG_SIZE], what[64];
	snprintf(what, sizeof what, "configure link %d", ch->index);
	return net_nl_talk(nl, net_msg_link_change(buf, ch), NULL, NULL, what, err);
}

int net_bridge_ensure(struct net_nl *nl, const char *name, struct hull_err *err)
{
	struct net_link_info li;
	if (net_link_get(nl, name, &li, err) < 0)
		return -1;
	if (li.index == 0) {
		char buf[NET_MSG_SIZE], what[64];
		snprintf(what, sizeof what, "create bridge %s", name);
		struct hull_err e = {0};
		/* Another create may win the race; its bridge is as good as ours. */
		if (net_nl_talk(nl, net_msg_bridge(buf, name), NULL, NULL, what, &e) < 0 &&
		    e.code != EEXIST) {
			*err = e;
			return -1;
		}
		hull_err_clear(&e);
		if (net_link_get(nl, name, &li, err) < 0)
			return -1;
	}
	if (li.index == 0 || strcmp(li.kind, "bridge") != 0)
		return hull_error(err, 0,
				  "bridge %s: the name is used by a link that is not a "
				  "bridge (%s)",
				  name, li.kind[0] ? li.kind : "no kind");
	return li.index;
}

int net_veth_create(struct net_nl *nl, const char *name, const char *peer, int peer_netns_fd,
		    const uint8_t peer_mac[6], struct hull_err *err)
{
	char buf[NET_MSG_SIZE], what[64];
	snprintf(what, sizeof what, "create veth %s", name);
	return net_nl_talk(nl, net_msg_veth(buf, name, peer, peer_netns_fd, peer_mac), NULL, NULL,
			   what, err);
}

void net_mac_of_ip4(const char *ip4, uint8_t mac[6])
{
	struct in_addr a = {0};
	inet_pton(AF_INET, ip4, &a);
	mac[0] = 0x02;
	mac[1] = 0x68;
	memcpy(mac + 2, &a.s_addr, 4); /* network order: the bytes as written */
}

int net_link_delete(struct net_nl *nl, const char *name, struct hull_err *err)
{
	struct net_link_info li;
	if (net_link_get(nl, name, &li, err) < 0)
		return -1;
	if (li.index == 0)
		return 0;
	char buf[NET_MSG_SIZE], what[64];
	snprintf(what, sizeof what, "delete link %s", name);
	struct hull_err e = {0};
	if (net_nl_talk(nl, link_msg(buf, RTM_DELLINK, 0, li.index), NULL, NULL, what, &e) < 0 &&
	    e.code != ENODEV) {
		*err = e;
		return -1;
	}
	hull_err_clear(&e);
	return 0;
}

struct uplink {
	int oif;
};

static int route_attr_cb(const struct nlattr *a, void *data)
{
	struct uplink *u = data;
	if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		u->oif = (int)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	struct uplink *u = data;
	if (rt->rtm_dst_len == 0 && rt->rtm_table == RT_TABLE_MAIN && u->oif == 0)
		mnl_attr_parse(nlh, sizeof *rt, route_attr_cb, u);
	return 0;
}

unsigned net_uplink_mtu(struct net_nl *nl)
{
	char buf[NET_MSG_SIZE];
	memset(buf, 0, sizeof buf);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof *rt);
	rt->rtm_family = AF_INET;
	struct uplink u = {0};
	struct hull_err e = {0};
	char name[IF_NAMESIZE];
	struct net_link_info li = {0};
	if (net_nl_talk(nl, nlh, route_cb, &u, "list routes", &e) == 0 && u.oif > 0 &&
	    if_indextoname((unsigned)u.oif, name) != NULL)
		net_link_get(nl, name, &li, &e);
	hull_err_clear(&e);
	return li.mtu ? li.mtu : 1500;
}
