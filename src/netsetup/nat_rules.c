/* nftables rules as libnftnl objects, expression by expression (the kernel's own
 * vocabulary: `nft --debug=netlink` prints the same lists). Pure: nothing here talks to the
 * kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h> /* before libnftnl, which uses FILE */
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "nat_int.h"

int nat_cidr_parse(const char *text, int family, struct nat_cidr *out, struct hull_err *err)
{
	struct nat_cidr c = {.family = family, .len = family == AF_INET ? 4 : 16};
	const char *slash = text ? strchr(text, '/') : NULL;
	char *end = NULL;
	if (slash == NULL || slash - text >= 64)
		return hull_error(err, EINVAL, "bad subnet \"%s\": want ADDRESS/PREFIX",
				  text ? text : "");
	char addr[64];
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	errno = 0;
	long prefix = strtol(slash + 1, &end, 10);
	if (inet_pton(family, addr, c.addr) != 1 || slash[1] == '\0' || *end != '\0' ||
	    prefix < 0 || prefix > (long)c.len * 8)
		return hull_error(err, EINVAL, "bad %s subnet \"%s\"",
				  family == AF_INET ? "IPv4" : "IPv6", text);
	for (size_t i = 0; i < c.len; i++) {
		long bits = prefix - (long)i * 8;
		c.mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		c.addr[i] &= c.mask[i];
	}
	*out = c;
	return 0;
}

static int add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (e == NULL)
		return -1;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int add_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return add(r, e);
}

static int add_cmp(struct nftnl_rule *r, uint32_t op, const void *data, size_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, (uint32_t)len);
	}
	return add(r, e);
}

static int add_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	return add(r, e);
}

/* reg1 = (reg1 & mask) ^ 0 */
static int add_and(struct nftnl_rule *r, const void *mask, size_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, (uint32_t)len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, (uint32_t)len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, (uint32_t)len);
	}
	return add(r, e);
}

static int match_nfproto(struct nftnl_rule *r, uint8_t nfproto)
{
	return add_meta(r, NFT_META_NFPROTO) < 0 ? -1 : add_cmp(r, NFT_CMP_EQ, &nfproto, 1);
}

/* ip saddr NET / ip6 saddr NET */
static int match_saddr(struct nftnl_rule *r, const struct nat_cidr *net)
{
	uint32_t off = net->family == AF_INET ? 12 : 8;
	if (match_nfproto(r, net->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6) < 0 ||
	    add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, (uint32_t)net->len) < 0 ||
	    add_and(r, net->mask, net->len) < 0)
		return -1;
	return add_cmp(r, NFT_CMP_EQ, net->addr, net->len);
}

static int match_oifname(struct nftnl_rule *r, uint32_t op, const char *name)
{
	char buf[IFNAMSIZ] = {0};
	strncpy(buf, name, IFNAMSIZ - 1);
	return add_meta(r, NFT_META_OIFNAME) < 0 ? -1 : add_cmp(r, op, buf, sizeof(buf));
}

/* ct status dnat */
static int match_ct_dnat(struct nftnl_rule *r)
{
	uint32_t mask = IPS_DST_NAT, zero = 0;
	struct nftnl_expr *e = nftnl_expr_alloc("ct");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	if (add(r, e) < 0 || add_and(r, &mask, sizeof(mask)) < 0)
		return -1;
	return add_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* fib daddr type local: to any address of this host, 127.0.0.1 included. */
static int match_local_daddr(struct nftnl_rule *r)
{
	uint32_t local = RTN_LOCAL;
	struct nftnl_expr *e = nftnl_expr_alloc("fib");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	}
	return add(r, e) < 0 ? -1 : add_cmp(r, NFT_CMP_EQ, &local, sizeof(local));
}

static int match_dport(struct nftnl_rule *r, uint8_t proto, uint16_t port)
{
	uint16_t be = htons(port);
	if (add_meta(r, NFT_META_L4PROTO) < 0 || add_cmp(r, NFT_CMP_EQ, &proto, 1) < 0 ||
	    add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2) < 0)
		return -1;
	return add_cmp(r, NFT_CMP_EQ, &be, sizeof(be));
}

static int add_immediate(struct nftnl_rule *r, uint32_t reg, const void *data, size_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, (uint32_t)len);
	}
	return add(r, e);
}

static int add_dnat4(struct nftnl_rule *r, struct in_addr ip4, uint16_t port)
{
	uint16_t be = htons(port);
	if (add_immediate(r, NFT_REG_1, &ip4.s_addr, 4) < 0 ||
	    add_immediate(r, NFT_REG_2, &be, sizeof(be)) < 0)
		return -1;
	struct nftnl_expr *e = nftnl_expr_alloc("nat");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
	}
	return add(r, e);
}

/* A rule of table hull with its tag as the comment nft(8) shows. */
static struct nftnl_rule *rule_new(const char *chain, const char *tag)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (r == NULL || ud == NULL || !nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, tag)) {
		if (r != NULL)
			nftnl_rule_free(r);
		if (ud != NULL)
			nftnl_udata_buf_free(ud);
		return NULL;
	}
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NAT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
	return r;
}

struct nftnl_rule *nat_rule_masq(const struct nat_cidr *net, const char *bridge,
				 enum nat_masq_case which, const char *tag)
{
	static const struct nat_cidr loopback = {AF_INET, 4, {127}, {255}};
	_cleanup_rule_ struct nftnl_rule *r = rule_new(NAT_POSTROUTING, tag);
	if (r == NULL || match_saddr(r, which == NAT_MASQ_LOOPBACK ? &loopback : net) < 0)
		return NULL;
	if (match_oifname(r, which == NAT_MASQ_OUT ? NFT_CMP_NEQ : NFT_CMP_EQ, bridge) < 0)
		return NULL;
	if (which != NAT_MASQ_OUT && match_ct_dnat(r) < 0)
		return NULL;
	if (add(r, nftnl_expr_alloc("masq")) < 0)
		return NULL;
	return steal_ptr(&r);
}

struct nftnl_rule *nat_rule_dnat(const char *chain, const struct net_port *p, struct in_addr ip4,
				 const char *tag)
{
	_cleanup_rule_ struct nftnl_rule *r = rule_new(chain, tag);
	if (r == NULL || match_nfproto(r, NFPROTO_IPV4) < 0 || match_local_daddr(r) < 0 ||
	    match_dport(r, (uint8_t)p->proto, p->host_port) < 0 ||
	    add_dnat4(r, ip4, p->container_port) < 0)
		return NULL;
	return steal_ptr(&r);
}
