/* Default routes (IPv4 and IPv6) through a gateway on a link. */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "netsetup.h"

struct nlmsghdr *net_msg_default_route(void *buf, int index, int family, const void *gw)
{
	memset(buf, 0, NET_MSG_SIZE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof *rt);
	rt->rtm_family = (uint8_t)family;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	return nlh;
}

int net_route_default(struct net_nl *nl, int index, const char *gw_text, struct hull_err *err)
{
	unsigned char gw[16];
	int family = strchr(gw_text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, gw_text, gw) != 1)
		return hull_error(err, 0, "bad gateway \"%s\"", gw_text);
	char buf[NET_MSG_SIZE], what[96];
	snprintf(what, sizeof what, "add default route via %s", gw_text);
	return net_nl_talk(nl, net_msg_default_route(buf, index, family, gw), NULL, NULL, what,
			   err);
}
