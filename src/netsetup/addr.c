/* IPv4 and IPv6 addresses on links. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "netsetup.h"

struct nlmsghdr *net_msg_addr(void *buf, int index, int family, const void *addr, int prefix)
{
	memset(buf, 0, NET_MSG_SIZE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	/* REPLACE: adding the same address twice (a bridge set up by a racing create) is fine. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_index = (uint32_t)index;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	size_t len = family == AF_INET ? 4 : 16;
	mnl_attr_put(nlh, IFA_LOCAL, len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
	/* No duplicate address detection: the address is ours by lease, and a tentative
	 * address would not answer for the first second or two. */
	if (family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return nlh;
}

int net_addr_add(struct net_nl *nl, int index, const char *text, int prefix, struct hull_err *err)
{
	unsigned char addr[16];
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, text, addr) != 1)
		return hull_error(err, 0, "bad address \"%s\"", text);
	char buf[NET_MSG_SIZE], what[96];
	snprintf(what, sizeof what, "add address %s/%d", text, prefix);
	return net_nl_talk(nl, net_msg_addr(buf, index, family, addr, prefix), NULL, NULL, what,
			   err);
}
