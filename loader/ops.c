// SPDX-License-Identifier: GPL-2.0-only
/* attach / port add / port del / detach: validate everything first, load
 * every program before touching an interface, and roll back what a failed
 * first attach created, so bad input leaves nothing half-applied.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "internal.h"
#include "log.h"

static int iface_index(const char *what, const char *ifname, uint32_t *ifindex)
{
	if (zh_check_ifname(ifname)) {
		pr_warn("%s '%s' is not a valid interface name\n", what, ifname);
		return -EINVAL;
	}
	*ifindex = if_nametoindex(ifname);
	if (!*ifindex) {
		pr_warn("%s '%s' does not exist: %s\n", what, ifname, strerror(errno));
		return -ENODEV;
	}
	return 0;
}

static int iface_mtu(const char *ifname, uint32_t *mtu)
{
	struct ifreq ifr;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr))
		err = -errno;
	else
		*mtu = ifr.ifr_mtu;
	close(fd);
	return err;
}

/* Is ifname a veth? (ethtool driver name; false when it cannot be read) */
static bool iface_is_veth(const char *ifname)
{
	struct ethtool_drvinfo drv = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr;
	bool veth = false;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&drv;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		veth = !strcmp(drv.driver, "veth");
	close(fd);
	return veth;
}

struct iface_list {
	uint32_t ifindex[ZH_IFACES_MAX];
	struct zh_iface rec[ZH_IFACES_MAX];
	int n;
};

static int ifaces_read(const char *inst_dir, struct iface_list *l)
{
	__u32 key, next, *prev = NULL;
	int fd;

	l->n = 0;
	fd = zh_map_open(inst_dir, ZH_MAP_IFACES);
	if (fd < 0)
		return fd;
	while (l->n < ZH_IFACES_MAX && !bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &l->rec[l->n]))
			l->ifindex[l->n++] = next;
		key = next;
		prev = &key;
	}
	close(fd);
	return 0;
}

static int iface_record(const char *inst_dir, uint32_t ifindex, const struct zh_iface *rec)
{
	int fd, err = 0;

	fd = zh_map_open(inst_dir, ZH_MAP_IFACES);
	if (fd < 0)
		return fd;
	if (rec ? bpf_map_update_elem(fd, &ifindex, rec, BPF_ANY)
		: bpf_map_delete_elem(fd, &ifindex))
		err = -errno;
	close(fd);
	if (err == -ENOENT && !rec)
		err = 0;
	return err;
}

/* Is the interface already used by another instance in this netns? */
static int iface_owner(const char *self, uint32_t ifindex, char *owner, size_t len)
{
	static char names[256][ZH_INSTANCE_NAME_MAX + 1];
	struct iface_list *l;
	char dir[PATH_MAX];
	struct zh_config cfg;
	int n, i, j, found = 0;

	n = zh_list_instances(names, 256);
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (i = 0; i < n && !found; i++) {
		if (!strcmp(names[i], self) || zh_inst_dir(names[i], dir, sizeof(dir)))
			continue;
		if (zh_config_read(dir, &cfg) || cfg.netns_cookie != zh_netns_cookie())
			continue;
		if (ifaces_read(dir, l))
			continue;
		for (j = 0; j < l->n; j++)
			if (l->ifindex[j] == ifindex) {
				snprintf(owner, len, "%s", names[i]);
				found = 1;
			}
	}
	free(l);
	return found;
}

/* Attach one program to one interface in the instance's modes. */
static int attach_iface(const char *inst_dir, const char *ifname, uint32_t ifindex,
			const struct zh_loaded *xdp, const struct zh_loaded *tc,
			const uint32_t *xdp_modes, int n_modes, bool fresh, struct zh_iface *rec)
{
	int err = 0, i;

	rec->xdp_mode = ZH_XDP_OFF;
	for (i = 0; xdp && i < n_modes; i++) {
		err = zh_xdp_attach(inst_dir, ifname, ifindex, xdp->prog_fd, xdp_modes[i]);
		if (!err) {
			rec->xdp_mode = xdp_modes[i];
			break;
		}
	}
	if (err) {
		pr_warn("Couldn't attach %s to %s (%s): %s\n", zh_prog_name(xdp->kind), ifname,
			n_modes > 1 ? "native or generic" : zh_xdp_mode_str(xdp_modes[0]),
			strerror(-err));
		return err;
	}
	if (!xdp)
		zh_xdp_detach(inst_dir, ifindex);

	err = zh_tc_attach(inst_dir, ifname, ifindex, tc->prog_fd, rec->tc_mode);
	if (err) {
		pr_warn("Couldn't attach %s to %s (%s): %s\n", zh_prog_name(tc->kind), ifname,
			zh_tc_mode_str(rec->tc_mode), strerror(-err));
		/* Undo only what this call created; a running instance keeps
		 * its (new) XDP program and its old TC program.
		 */
		if (xdp && fresh)
			zh_xdp_detach(inst_dir, ifindex);
		return err;
	}
	return 0;
}

static void detach_iface(const char *inst_dir, uint32_t ifindex, const struct zh_iface *rec,
			 bool same_netns)
{
	zh_xdp_detach(inst_dir, ifindex);
	zh_tc_detach(inst_dir, ifindex, rec->tc_mode, same_netns);
}

static int devmap_sync(const char *dir, const char *ifname, uint32_t ifindex,
		       uint32_t xdp_mode);
static void port_ep_flags_sync(const char *dir, const char *ifname, uint32_t ifindex);

/* Replace tc_port on every port of an instance with a freshly loaded one,
 * and re-decide which ports take XDP redirects under the uplink's mode.
 */
static int replace_ports(const char *inst_dir, const struct zh_config *cfg)
{
	struct iface_list *l = malloc(sizeof(*l));
	struct zh_loaded port = {0};
	int err, i;

	if (!l)
		return -ENOMEM;
	err = ifaces_read(inst_dir, l);
	for (i = 0; !err && i < l->n; i++) {
		char name[IF_NAMESIZE];

		if (l->rec[i].role != ZH_ROLE_PORT)
			continue;
		/* A VM that went away leaves its record until port del. */
		if (!if_indextoname(l->ifindex[i], name) || strcmp(name, l->rec[i].name)) {
			pr_info("port %s is gone; not replacing its program\n", l->rec[i].name);
			continue;
		}
		if (!port.skel) {
			err = zh_prog_load(ZH_PROG_TC_PORT, inst_dir, cfg, &port);
			if (err)
				break;
		}
		err = zh_tc_attach(inst_dir, l->rec[i].name, l->ifindex[i], port.prog_fd,
				   l->rec[i].tc_mode);
		if (err)
			pr_warn("Couldn't replace tc_port on %s: %s\n", l->rec[i].name,
				strerror(-err));
		else
			err = devmap_sync(inst_dir, l->rec[i].name, l->ifindex[i], cfg->xdp_mode);
		if (!err)
			port_ep_flags_sync(inst_dir, l->rec[i].name, l->ifindex[i]);
	}
	zh_prog_unload(&port);
	free(l);
	return err;
}

/* Map capacities are fixed once the maps exist. */
static int check_sizes(const char *instance, const char *dir, const struct zh_map_sizes *s)
{
	const struct {
		const char *map;
		uint32_t want;
	} rows[] = {{ZH_MAP_ENDPOINTS, s->endpoints}, {ZH_MAP_ROUTES, s->routes},
		    {ZH_MAP_POLICY, s->policies}};
	struct bpf_map_info info;
	__u32 len;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!rows[i].want)
			continue;
		fd = zh_map_open(dir, rows[i].map);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		bpf_map_get_info_by_fd(fd, &info, &len);
		close(fd);
		if (info.max_entries != rows[i].want) {
			pr_warn("instance '%s' has %s sized %u; detach it to resize to %u\n",
				instance, rows[i].map, info.max_entries, rows[i].want);
			return -EBUSY;
		}
	}
	return 0;
}

static void default_router_mac(uint32_t underlay_ip, uint8_t mac[6])
{
	const uint8_t *ip = (const uint8_t *)&underlay_ip;

	/* Locally administered, unique per underlay address. */
	mac[0] = 0x02;
	mac[1] = 0x7a;
	memcpy(&mac[2], ip, 4);
}

int zh_attach(const struct zh_attach_opts *o, struct zh_attach_result *res)
{
	struct zh_loaded xdp = {0}, tc = {0};
	struct zh_config cfg = {0}, old = {0};
	struct zh_iface rec = {0};
	struct zh_features feat;
	char dir[PATH_MAX], owner[ZH_INSTANCE_NAME_MAX + 1];
	uint32_t ifindex, xdp_modes[2];
	int n_modes, err, existing = 0, i;
	bool created = false;
	struct iface_list *l = NULL;

	if (zh_instance_name_check(o->instance))
		return -EINVAL;
	err = iface_index("uplink", o->uplink, &ifindex);
	if (err)
		return err;
	err = zh_check_privileges();
	if (!err)
		err = zh_check_kernel_btf();
	if (err)
		return err;
	if (iface_owner(o->instance, ifindex, owner, sizeof(owner)) > 0) {
		pr_warn("interface '%s' is already used by instance '%s'\n", o->uplink, owner);
		return -EBUSY;
	}

	zh_probe_features(&feat);
	err = zh_decide_tc_mode(o->tc, &feat, &cfg.tc_mode);
	if (err) {
		pr_warn("tc mode tcx is not available on kernel %s (tcx needs 6.6 or later); "
			"use --tc-mode clsact or auto\n", feat.kernel);
		return err;
	}
	n_modes = zh_xdp_try_order(o->xdp, xdp_modes);

	err = zh_inst_dir_prepare(o->instance, dir, sizeof(dir), &created);
	if (err)
		return err;

	l = calloc(1, sizeof(*l));
	if (!l) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (!created && zh_config_read(dir, &old) == 0) {
		err = zh_netns_check(o->instance, &old);
		if (err)
			goto cleanup;
		ifaces_read(dir, l);
		for (i = 0; i < l->n; i++) {
			if (l->rec[i].role != ZH_ROLE_UPLINK)
				continue;
			if (l->ifindex[i] != ifindex) {
				pr_warn("instance '%s' is attached to uplink '%s'; detach it "
					"first or use another --instance\n",
					o->instance, l->rec[i].name);
				err = -EBUSY;
				goto cleanup;
			}
			existing = 1;
		}
		/* On auto, keep the XDP mode in use so the replace is an atomic
		 * link update rather than a detach and attach.
		 */
		if (existing && o->xdp == ZH_XDP_REQ_AUTO && old.xdp_mode == ZH_XDP_GENERIC) {
			xdp_modes[0] = ZH_XDP_GENERIC;
			xdp_modes[1] = ZH_XDP_NATIVE;
		}
		err = check_sizes(o->instance, dir, &o->sizes);
		if (err)
			goto cleanup;
		/* The TC method of a running instance stays unless asked. */
		if (existing && o->tc == ZH_TC_REQ_AUTO && old.tc_mode)
			cfg.tc_mode = old.tc_mode;
		if (existing && old.tc_mode && cfg.tc_mode != old.tc_mode) {
			pr_warn("instance '%s' uses tc mode %s; detach it to change to %s\n",
				o->instance, zh_tc_mode_str(old.tc_mode),
				zh_tc_mode_str(cfg.tc_mode));
			err = -EBUSY;
			goto cleanup;
		}
	}

	/* Auto on a veth uplink: no XDP, unless a running instance has it.
	 * Native XDP on a veth cannot redirect to veth ports, copies every
	 * skb and turns off GSO on the peer; generic XDP skips the redirected
	 * skbs zerohop hosts send. Measured in docs/benchmarks.md.
	 */
	if (o->xdp == ZH_XDP_REQ_AUTO && (!existing || old.xdp_mode == ZH_XDP_OFF) &&
	    iface_is_veth(o->uplink))
		n_modes = 0;

	cfg.underlay_ip = o->underlay_ip;
	cfg.uplink_ifindex = ifindex;
	cfg.encap = o->encap == ZH_ENCAP_GENEVE ? ZH_ENCAP_GENEVE : ZH_ENCAP_VXLAN;
	cfg.netns_cookie = zh_netns_cookie();
	/* A re-attach keeps what it does not set again. */
	if (o->has_router_mac)
		memcpy(cfg.router_mac, o->router_mac, 6);
	else if (existing)
		memcpy(cfg.router_mac, old.router_mac, 6);
	else
		default_router_mac(o->underlay_ip, cfg.router_mac);
	if (!o->encap && existing)
		cfg.encap = old.encap;
	cfg.mtu = o->mtu;
	if (!cfg.mtu) {
		uint32_t mtu = 1500;

		iface_mtu(o->uplink, &mtu);
		cfg.mtu = mtu;
	}

	/* Load everything before changing any interface. */
	err = zh_prog_load_sized(ZH_PROG_TC_UPLINK, dir, &cfg, &o->sizes, &tc);
	if (!err && n_modes)
		err = zh_prog_load_sized(ZH_PROG_XDP_UPLINK, dir, &cfg, &o->sizes, &xdp);
	if (err)
		goto cleanup;

	snprintf(rec.name, sizeof(rec.name), "%s", o->uplink);
	rec.role = ZH_ROLE_UPLINK;
	rec.tc_mode = cfg.tc_mode;
	err = attach_iface(dir, o->uplink, ifindex, n_modes ? &xdp : NULL, &tc, xdp_modes,
			   n_modes, !existing, &rec);
	if (err)
		goto cleanup;
	cfg.xdp_mode = rec.xdp_mode;
	err = iface_record(dir, ifindex, &rec);
	if (!err)
		err = zh_config_write(dir, &cfg);
	if (err) {
		pr_warn("Couldn't record the attachment in %s: %s\n", dir, strerror(-err));
		if (!existing)
			detach_iface(dir, ifindex, &rec, true);
		goto cleanup;
	}
	if (existing)
		err = replace_ports(dir, &cfg);
	if (res) {
		res->replaced = existing;
		res->xdp_mode = rec.xdp_mode;
		res->tc_mode = rec.tc_mode;
	}
	pr_debug("%s instance '%s' on %s (xdp %s, tc %s)\n", existing ? "replaced" : "attached",
		o->instance, o->uplink, zh_xdp_mode_str(rec.xdp_mode),
		zh_tc_mode_str(rec.tc_mode));
cleanup:
	zh_prog_unload(&xdp);
	zh_prog_unload(&tc);
	if (err && created)
		zh_inst_dir_remove(dir);
	free(l);
	return err;
}

/* Can xdp_uplink redirect to this port? Generic XDP hands the devmap an
 * skb, which every device takes. Native XDP needs the port's driver to
 * accept XDP frames by itself: tun/tap does; veth delivers only when the
 * VM side has NAPI (an XDP program or GRO there), which is the VM's choice,
 * so veth ports take the TC path.
 */
static bool port_takes_xdp_redirect(const char *ifname, uint32_t uplink_xdp_mode)
{
	struct ethtool_drvinfo drv = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr;
	bool ok = false;
	int fd;

	if (uplink_xdp_mode == ZH_XDP_GENERIC)
		return true;
	if (uplink_xdp_mode != ZH_XDP_NATIVE)
		return false;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&drv;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		ok = !strcmp(drv.driver, "tun");
	close(fd);
	return ok;
}

/* Does the kernel report a link namespace for ifindex? RTM_GETLINK carries
 * IFLA_LINK_NETNSID only when the device's link (a veth's peer) lives in
 * another network namespace than the device. 1: yes, 0: no, -errno.
 */
static int iface_link_netns_other(uint32_t ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		       .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1},
		.ifi = {.ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex},
	};
	const size_t buf_len = 32768; /* a link message is a few KiB */
	const struct ifinfomsg *ifi;
	const struct rtattr *rta;
	struct nlmsghdr *nh;
	int fd = -1, len, found = 0, err = 0;
	ssize_t n;

	nh = malloc(buf_len);
	if (!nh)
		return -ENOMEM;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		err = -errno;
		goto out;
	}
	n = recv(fd, nh, buf_len, 0);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	len = (int)n;
	if (!NLMSG_OK(nh, len)) {
		err = -EIO;
		goto out;
	}
	if (nh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(nh);

		err = e->error ? e->error : -EIO;
		goto out;
	}
	if (nh->nlmsg_type != RTM_NEWLINK || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi))) {
		err = -EIO;
		goto out;
	}
	ifi = NLMSG_DATA(nh);
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == IFLA_LINK_NETNSID)
			found = 1;
out:
	if (fd >= 0)
		close(fd);
	free(nh);
	return err ? err : found;
}

/* Endpoint flags of a local port. A veth whose peer (the VM's end) is in
 * another network namespace takes decapsulated and same-host packets by
 * bpf_redirect_peer(), which hands them straight to the peer's ingress;
 * the helper drops them for a tap and for a peer in this namespace, so
 * those keep bpf_redirect().
 */
static uint16_t port_ep_flags(const char *ifname, uint32_t ifindex)
{
	return iface_is_veth(ifname) && iface_link_netns_other(ifindex) == 1 ? ZH_EP_F_PEER_NETNS
									       : 0;
}

/* Bring a port's local endpoint's flags up to date (the VM's end may have
 * moved since port add). Best effort: on failure the record keeps its
 * flags.
 */
static void port_ep_flags_sync(const char *dir, const char *ifname, uint32_t ifindex)
{
	struct zh_endpoint ep;
	struct zh_port port;
	struct zh_ep_key key;
	uint16_t flags;

	if (zh_map_lookup(dir, ZH_MAP_PORTS, &ifindex, &port))
		return;
	key.vni = port.vni;
	key.ip = port.ip;
	if (zh_map_lookup(dir, ZH_MAP_ENDPOINTS, &key, &ep) || ep.ifindex != ifindex)
		return;
	flags = (ep.flags & ~ZH_EP_F_PEER_NETNS) | port_ep_flags(ifname, ifindex);
	if (flags == ep.flags)
		return;
	ep.flags = flags;
	zh_map_update(dir, ZH_MAP_ENDPOINTS, &key, &ep);
}

static int devmap_sync(const char *dir, const char *ifname, uint32_t ifindex, uint32_t xdp_mode)
{
	if (port_takes_xdp_redirect(ifname, xdp_mode))
		return zh_map_update(dir, ZH_MAP_DEVMAP, &ifindex, &ifindex);
	return zh_map_delete(dir, ZH_MAP_DEVMAP, &ifindex);
}

static void ipv4_str(uint32_t ip, char *buf)
{
	inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

int zh_port_add(const char *instance, const char *ifname, const struct zh_port_opts *p)
{
	struct zh_ep_key key = {.vni = p->vni, .ip = p->ip}, old_key;
	struct zh_endpoint ep = {0}, old_ep;
	struct zh_port port = {.vni = p->vni, .ip = p->ip}, old_port;
	struct zh_loaded prog = {0};
	struct zh_iface rec = {0}, old;
	struct zh_config cfg;
	char dir[PATH_MAX], owner[ZH_INSTANCE_NAME_MAX + 1], ip[INET_ADDRSTRLEN];
	bool existed, had_port, had_ep;
	uint32_t ifindex;
	int err;

	err = zh_instance_open(instance, dir, sizeof(dir), &cfg);
	if (err)
		return err;
	err = iface_index("port", ifname, &ifindex);
	if (err)
		return err;
	if (p->vni < 1 || p->vni > ZH_VNI_MAX) {
		pr_warn("VNI %u is out of range 1..%u\n", p->vni, ZH_VNI_MAX);
		return -EINVAL;
	}
	if (iface_owner(instance, ifindex, owner, sizeof(owner)) > 0) {
		pr_warn("interface '%s' is already used by instance '%s'\n", ifname, owner);
		return -EBUSY;
	}
	existed = zh_map_lookup(dir, ZH_MAP_IFACES, &ifindex, &old) == 0;
	if (existed && old.role == ZH_ROLE_UPLINK) {
		pr_warn("interface '%s' is the uplink of instance '%s', not a VM port\n", ifname,
			instance);
		return -EINVAL;
	}
	ipv4_str(p->ip, ip);
	if (zh_check_unicast_ipv4(p->ip)) {
		pr_warn("port address %s is not a unicast host address\n", ip);
		return -EINVAL;
	}
	had_port = zh_map_lookup(dir, ZH_MAP_PORTS, &ifindex, &old_port) == 0;
	had_ep = zh_map_lookup(dir, ZH_MAP_ENDPOINTS, &key, &old_ep) == 0;
	if (had_ep && old_ep.ifindex != ifindex) {
		pr_warn("VNI %u already has an endpoint %s (%s); delete it first\n", p->vni, ip,
			old_ep.ifindex ? "another port" : "on another host");
		return -EEXIST;
	}

	err = zh_prog_load(ZH_PROG_TC_PORT, dir, &cfg, &prog);
	if (err)
		return err;
	snprintf(rec.name, sizeof(rec.name), "%s", ifname);
	rec.role = ZH_ROLE_PORT;
	rec.tc_mode = cfg.tc_mode;
	memcpy(port.mac, p->mac, 6);
	ep.ifindex = ifindex;
	memcpy(ep.mac, p->mac, 6);
	ep.flags = port_ep_flags(ifname, ifindex);

	/* Records first (a full map fails before any attach), then the
	 * program; undo in reverse on failure.
	 */
	err = zh_map_update(dir, ZH_MAP_IFACES, &ifindex, &rec);
	if (err)
		goto fail_iface;
	err = zh_map_update(dir, ZH_MAP_PORTS, &ifindex, &port);
	if (err)
		goto fail_port;
	err = zh_map_update(dir, ZH_MAP_ENDPOINTS, &key, &ep);
	if (err)
		goto fail_ep;
	err = devmap_sync(dir, ifname, ifindex, cfg.xdp_mode);
	if (err)
		goto fail_devmap;
	err = attach_iface(dir, ifname, ifindex, NULL, &prog, NULL, 0, !existed, &rec);
	if (err)
		goto fail_attach;
	/* The port moved to another address or VNI: its old endpoint goes. */
	if (had_port && (old_port.vni != port.vni || old_port.ip != port.ip)) {
		old_key.vni = old_port.vni;
		old_key.ip = old_port.ip;
		if (zh_map_lookup(dir, ZH_MAP_ENDPOINTS, &old_key, &old_ep) == 0 &&
		    old_ep.ifindex == ifindex)
			zh_map_delete(dir, ZH_MAP_ENDPOINTS, &old_key);
	}
	zh_prog_unload(&prog);
	return 0;

fail_attach:
	if (!existed)
		zh_map_delete(dir, ZH_MAP_DEVMAP, &ifindex);
fail_devmap:
	if (had_ep)
		zh_map_update(dir, ZH_MAP_ENDPOINTS, &key, &old_ep);
	else
		zh_map_delete(dir, ZH_MAP_ENDPOINTS, &key);
fail_ep:
	if (had_port)
		zh_map_update(dir, ZH_MAP_PORTS, &ifindex, &old_port);
	else
		zh_map_delete(dir, ZH_MAP_PORTS, &ifindex);
fail_port:
	if (existed)
		zh_map_update(dir, ZH_MAP_IFACES, &ifindex, &old);
	else
		zh_map_delete(dir, ZH_MAP_IFACES, &ifindex);
fail_iface:
	zh_prog_unload(&prog);
	return err;
}

/* Remove a port's data-plane records (endpoint only if it is still this
 * port's). */
static void port_records_delete(const char *dir, uint32_t ifindex)
{
	struct zh_endpoint ep;
	struct zh_port port;
	struct zh_ep_key key;

	if (zh_map_lookup(dir, ZH_MAP_PORTS, &ifindex, &port) == 0) {
		key.vni = port.vni;
		key.ip = port.ip;
		if (zh_map_lookup(dir, ZH_MAP_ENDPOINTS, &key, &ep) == 0 && ep.ifindex == ifindex)
			zh_map_delete(dir, ZH_MAP_ENDPOINTS, &key);
	}
	zh_map_delete(dir, ZH_MAP_PORTS, &ifindex);
	zh_map_delete(dir, ZH_MAP_DEVMAP, &ifindex);
}

int zh_port_del(const char *instance, const char *ifname)
{
	struct iface_list *l;
	struct zh_config cfg;
	char dir[PATH_MAX];
	int err, i, found = -1;

	err = zh_instance_open(instance, dir, sizeof(dir), &cfg);
	if (err)
		return err;
	if (zh_check_ifname(ifname)) {
		pr_warn("port '%s' is not a valid interface name\n", ifname);
		return -EINVAL;
	}
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	err = ifaces_read(dir, l);
	/* By name: the interface may already be gone. */
	for (i = 0; !err && i < l->n; i++)
		if (l->rec[i].role == ZH_ROLE_PORT && !strcmp(l->rec[i].name, ifname))
			found = i;
	if (found < 0) {
		pr_warn("'%s' is not a port of instance '%s'\n", ifname, instance);
		err = -ENOENT;
		goto out;
	}
	detach_iface(dir, l->ifindex[found], &l->rec[found], true);
	port_records_delete(dir, l->ifindex[found]);
	err = zh_map_delete(dir, ZH_MAP_IFACES, &l->ifindex[found]);
	if (!err)
		pr_debug("port %s removed from instance '%s'\n", ifname, instance);
out:
	free(l);
	return err;
}

int zh_detach(const char *instance)
{
	struct iface_list *l;
	struct zh_config cfg = {0};
	char dir[PATH_MAX];
	bool same_netns;
	int err, i;

	if (zh_instance_name_check(instance))
		return -EINVAL;
	err = zh_check_privileges();
	if (err)
		return err;
	if (zh_inst_dir(instance, dir, sizeof(dir)) || access(dir, F_OK))
		return -ENOENT;
	zh_config_read(dir, &cfg);
	same_netns = !cfg.netns_cookie || cfg.netns_cookie == zh_netns_cookie();
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (ifaces_read(dir, l) == 0)
		for (i = 0; i < l->n; i++)
			detach_iface(dir, l->ifindex[i], &l->rec[i], same_netns);
	free(l);
	if (!same_netns && cfg.tc_mode == ZH_TC_CLSACT)
		pr_warn("instance '%s' was attached in netns cookie %llu; its clsact filters stay "
			"there until its interfaces go (run detach inside that namespace)\n",
			instance, (unsigned long long)cfg.netns_cookie);
	zh_inst_dir_remove(dir);
	pr_debug("detached instance '%s'\n", instance);
	return 0;
}
