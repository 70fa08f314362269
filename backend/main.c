// SPDX-License-Identifier: GPL-2.0-or-later
/* main.c - the usernat daemon: options, transport, event loop
 *
 * DOC: Theory of operation
 *
 * One thread, one epoll set: the stack instance's (usernat_fd(), behind
 * which sit all NAT sockets and timers).  The loop (loop.c) puts the
 * transport's descriptors, the control socket and a signalfd in it too
 * (usernat_watch(), see loop_use()) and waits with usernat_wait(): one
 * epoll_wait() per wake-up for guest frames and host sockets alike.  Frames
 * from the transport go straight into usernat_input(); frames from the
 * stack go straight to the transport's send().
 *
 * Privileges: everything that needs them (tap devices, privileged ports,
 * the ICMP raw socket) is opened first; then sandbox_enter() switches away
 * from root, drops every capability and loads the seccomp filter, before
 * the first guest frame is read (sandbox.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

#include "backend/control.h"
#include "backend/loop.h"
#include "backend/sandbox.h"
#include "backend/transport.h"
#include "stack/usernat.h"

struct daemon {
	struct loop loop;
	struct usernat_config *cfg;
	struct usernat *un;
	struct transport *tr;
	struct loop_watch sig_w;
	struct control *ctl;
	int log_level;
	char *cfg_err;		/* first option error */
	const char *cfg_err_opt;
};

static int log_level = USERNAT_LOG_INFO;

static void log_handler(const gchar *domain, GLogLevelFlags level,
			const gchar *msg, gpointer data)
{
	const char *tag = "";
	int lvl;

	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
		lvl = USERNAT_LOG_ERROR;
		tag = "error: ";
	} else if (level & G_LOG_LEVEL_WARNING) {
		lvl = USERNAT_LOG_WARNING;
		tag = "warning: ";
	} else if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) {
		lvl = USERNAT_LOG_INFO;
	} else {
		lvl = USERNAT_LOG_DEBUG;
		tag = "debug: ";
	}
	if (lvl > log_level)
		return;
	fprintf(stderr, "usernat: %s%s\n", tag, msg);
}

/* Every stack option is passed by name to usernat_config_set() */
static gboolean opt_cfg(const gchar *name, const gchar *value, gpointer data,
			GError **error)
{
	struct daemon *d = data;
	char *err = NULL;

	while (*name == '-')
		name++;
	if (usernat_config_set(d->cfg, name, value, &err)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--%s", err ? err : name);
		free(err);
		return FALSE;
	}
	return TRUE;
}

static gchar *opt_vde, *opt_socket, *opt_control, *opt_vhost_user;
static gboolean opt_version, opt_no_control;
static gchar *opt_runas;
static gboolean opt_no_sandbox, opt_sandbox_log, opt_allow_root;

static const GOptionEntry security_entries[] = {
	{ "runas", 'u', 0, G_OPTION_ARG_STRING, &opt_runas,
	  "Started as root: switch to USER once the transport and sockets "
	  "are open", "USER" },
	{ "allow-root", 0, 0, G_OPTION_ARG_NONE, &opt_allow_root,
	  "Started as root without --runas: stay root (capabilities are "
	  "dropped all the same) instead of refusing", NULL },
	{ "no-sandbox", 0, 0, G_OPTION_ARG_NONE, &opt_no_sandbox,
	  "No seccomp filter and keep capabilities (debugging, valgrind)",
	  NULL },
	{ "sandbox-log", 0, 0, G_OPTION_ARG_NONE, &opt_sandbox_log,
	  "System calls outside the seccomp allow-list are logged by the "
	  "kernel (audit type=1326) instead of killing usernat", NULL },
	{ NULL }
};

static const GOptionEntry transport_entries[] = {
	{ "vde", 'V', 0, G_OPTION_ARG_STRING, &opt_vde,
	  "Join or host the VDE network at URL (switch://DIR, vde://DIR, "
	  "ptp://PATH, tap://IFNAME, vxvde://...)", "URL" },
	{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &opt_socket,
	  "Listen for QEMU -netdev stream on unix socket PATH", "PATH" },
	{ "vhost-user", 0, 0, G_OPTION_ARG_FILENAME, &opt_vhost_user,
	  "Be a vhost-user net device for one QEMU -netdev vhost-user at "
	  "unix socket PATH", "PATH" },
	{ "control", 'c', 0, G_OPTION_ARG_FILENAME, &opt_control,
	  "Control socket (default $XDG_RUNTIME_DIR/usernat.ctl, or "
	  "/tmp/usernat-UID.ctl); see usernatctl(1)", "PATH" },
	{ "no-control", 0, 0, G_OPTION_ARG_NONE, &opt_no_control,
	  "Open no control socket", NULL },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version,
	  "Print the version and exit", NULL },
	{ NULL }
};

#define CFG_OPT(long_, short_, desc, arg)                                     \
	{ long_, short_, 0, G_OPTION_ARG_CALLBACK, (void *)opt_cfg, desc, arg }
#define CFG_FLAG(long_, desc)                                                 \
	{ long_, 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,              \
	  (void *)opt_cfg, desc, NULL }

static const GOptionEntry net_entries[] = {
	CFG_OPT("net", 'n', "Guest network (default 10.0.2.0/24)",
		"ADDR/PREFIX"),
	CFG_OPT("gateway", 'g', "Gateway address; reaches the host "
		"(default: network's .2)", "ADDR"),
	CFG_OPT("host", 0, "Same as --gateway (QEMU's name)", "ADDR"),
	CFG_OPT("dns", 'D', "DNS forwarder address (default: network's .3)",
		"ADDR"),
	CFG_OPT("mtu", 'm', "MTU for guests, 576-65520 (default 1500)", "N"),
	CFG_OPT("mac", 0, "Gateway MAC address (default 52:55:0a:00:02:02)",
		"MAC"),
	CFG_FLAG("no-map-host-loopback", "The gateway address does not reach "
		 "the host's loopback"),
	CFG_OPT("prefix6", 0, "IPv6 prefix for SLAAC and DHCPv6 (default "
		"fd00::/64)", "ADDR/64"),
	CFG_OPT("gateway6", 0, "Gateway's IPv6 address (default: prefix::2)",
		"ADDR"),
	CFG_OPT("dns6", 0, "DNS forwarder's IPv6 address (default: "
		"prefix::3)", "ADDR"),
	CFG_FLAG("no-ipv6", "No IPv6: no router advertisements, NDP, "
		 "ICMPv6 or DHCPv6"),
	CFG_OPT("log-level", 'l', "error, warning, info (default) or debug",
		"LEVEL"),
	CFG_OPT("pcap", 'p', "Record every frame, both ways, in pcap format",
		"FILE"),
	CFG_OPT("pcap-max", 0, "Stop capturing at SIZE bytes (K/M/G "
		"suffixes; default 1G, 0: no cap)", "SIZE"),
	{ NULL }
};

static const GOptionEntry dhcp_entries[] = {
	CFG_OPT("dhcp-start", 0, "First address to lease (default: .15)",
		"ADDR"),
	CFG_OPT("dhcp-end", 0, "Last address to lease (default: last in "
		"network)", "ADDR"),
	CFG_OPT("dhcp-host", 0, "Static lease, repeatable", "MAC,IP[,NAME]"),
	CFG_OPT("domain", 0, "Domain name for guests (option 15)", "NAME"),
	CFG_OPT("dns-search", 0, "Domain search list (option 119)",
		"D1,D2,..."),
	CFG_OPT("hostname", 0, "Host name for guests without a static one",
		"NAME"),
	CFG_OPT("lease-time", 0, "Lease time in seconds (default 86400)",
		"SECS"),
	CFG_FLAG("no-dhcp", "Do not serve DHCP"),
	{ NULL }
};

static const GOptionEntry policy_entries[] = {
	CFG_FLAG("restrict", "Guests open no outbound flows (TCP, UDP, ICMP "
		 "echo, DNS relay) unless an --allow rule matches; DHCP, "
		 "gateway ping and forwards still work"),
	CFG_OPT("allow", 0, "Egress rule, repeatable, first match wins: allow "
		"new flows to NET (ADDR/PREFIX, or IPv6 [ADDR6/PREFIX]), ports "
		"N or N-M", "NET[:PORTS]"),
	CFG_OPT("deny", 0, "Egress rule, repeatable, first match wins: "
		"refuse new flows to NET[:PORTS]", "NET[:PORTS]"),
	{ NULL }
};

static const GOptionEntry nat_entries[] = {
	CFG_OPT("forward", 'f', "Forward a host port to a guest, repeatable: "
		"tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (QEMU "
		"hostfwd syntax; ports may be ranges FIRST-LAST; GUESTADDR "
		"IPv4 or [IPv6])", "SPEC"),
	CFG_OPT("forward-source", 0, "Forwarded connections reach guests from "
		"the gateway address (default), or from the client's own "
		"address and port for clients of the guest's address family "
		"off the host's loopback (guests must route replies through "
		"the gateway)", "gateway|client"),
	CFG_OPT("dns-upstream", 0, "DNS server to forward to, repeatable "
		"(default: nameservers in --resolv-conf)",
		"ADDR[:PORT]|[ADDR6]:PORT"),
	CFG_OPT("resolv-conf", 0, "Where to find upstream DNS servers "
		"(default /etc/resolv.conf)", "PATH"),
	CFG_OPT("udp-timeout", 0, "Seconds before an idle UDP flow ends "
		"(default 180)", "SECS"),
	CFG_OPT("tcp-idle-timeout", 0, "Seconds before an idle TCP "
		"connection ends, 0 never (default 7200)", "SECS"),
	CFG_OPT("max-flows", 0, "Flows (TCP, UDP, ICMP) of all guests "
		"(default 32768)", "N"),
	CFG_OPT("max-flows-per-guest", 0, "Flows of one guest (default "
		"16384)", "N"),
	CFG_OPT("max-half-open", 0, "TCP connects in progress per guest "
		"(default 1024)", "N"),
	CFG_OPT("max-half-open-total", 0, "TCP connects in progress of all "
		"guests (default 4096)", "N"),
	CFG_OPT("max-icmp-ids", 0, "ICMP and ICMPv6 echo flows (one per "
		"guest echo identifier and destination) of all guests "
		"(default 1024)", "N"),
	CFG_OPT("max-icmp-ids-per-guest", 0, "Echo flows of one guest MAC "
		"(default 256)", "N"),
	CFG_OPT("max-leases", 0, "DHCP leases offered or bound at once, 0 "
		"as many as the pool has addresses (default 0)", "N"),
	CFG_OPT("poll-us", 0, "Before sleeping, look for events for up to N "
		"microseconds, adapting to how soon they come: lower latency "
		"for CPU time while traffic is interactive; 0 never (0-1000, "
		"default 50)", "N"),
	{ NULL }
};

static void out_to_transport(void *opaque, const void *frame, size_t len)
{
	struct daemon *d = opaque;

	d->tr->send(d->tr, frame, len);
}

static void out_off_to_transport(void *opaque, const void *frame, size_t len,
				 const struct usernat_offload *off)
{
	struct daemon *d = opaque;

	d->tr->send_off(d->tr, frame, len, off);
}

static void in_off_to_stack(void *opaque, const void *frame, size_t len,
			    const struct usernat_offload *off)
{
	struct daemon *d = opaque;

	usernat_input_offload(d->un, frame, len, off);
}

/* The daemon has one transport, so the stack's link is that transport's
 * only guest: what its driver acked is what the link takes. */
static void set_offload(void *opaque, unsigned int caps)
{
	struct daemon *d = opaque;

	if (usernat_set_offload(d->un, caps))
		g_warning("cannot enable offloads 0x%x", caps);
}

static void in_to_stack(void *opaque, const void *frame, size_t len)
{
	struct daemon *d = opaque;

	usernat_input(d->un, frame, len);
}

static void flush_stack(void *opaque)
{
	struct daemon *d = opaque;

	usernat_flush(d->un);
}

static void set_log_level(int level)
{
	log_level = level;
}

/* transport_stats() - The transport's counters: frames toward guests
 * dropped, and system calls that wrote a batch of them (tap:// only) */
static void transport_stats(void *opaque,
			    void (*fn)(void *, const char *, uint64_t),
			    void *fn_opaque)
{
	struct daemon *d = opaque;

	if (!d->tr)
		return;
	fn(fn_opaque, "transport_tx_drops", d->tr->tx_drops);
	fn(fn_opaque, "transport_tx_batches", d->tr->tx_batches);
}

/**
 * open_control() - The control socket: an explicit --control that fails is
 * fatal; the default path only warns (another usernat may hold it)
 * Return: 0, or -1 after printing the reason
 */
static int open_control(struct daemon *d)
{
	struct control_ctx ctx = { .un = d->un, .set_log_level = set_log_level,
				   .transport_stats = transport_stats,
				   .opaque = d };
	char *path, *err = NULL;

	if (opt_no_control)
		return 0;
	path = opt_control ? g_strdup(opt_control) : control_default_path();
	d->ctl = control_open(&d->loop, path, &ctx, &err);
	if (!d->ctl && opt_control) {
		fprintf(stderr, "usernat: %s\n", err);
		g_free(err);
		g_free(path);
		return -1;
	}
	if (!d->ctl)
		g_warning("%s; running without a control socket", err);
	else
		g_message("control socket %s", path);
	g_free(err);
	g_free(path);
	return 0;
}

/* The loop's watches live in the stack instance's epoll set (loop_use()) */
static void watch_ready(void *opaque, uint32_t events)
{
	struct loop_watch *w = opaque;

	w->cb(w, events);
}

static int ext_watch(void *ctx, int fd, uint32_t events,
		     struct loop_watch *w)
{
	return usernat_watch(ctx, fd, events, watch_ready, w);
}

static void ext_unwatch(void *ctx, int fd)
{
	usernat_unwatch(ctx, fd);
}

static int ext_wait(void *ctx, int timeout_ms)
{
	return usernat_wait(ctx, timeout_ms);
}

static void log_stat(void *opaque, const char *name, uint64_t v)
{
	if (v)
		g_message("stat %s %" G_GUINT64_FORMAT, name, v);
}

static void sig_ready(struct loop_watch *w, uint32_t events)
{
	struct daemon *d = container_of(w, struct daemon, sig_w);
	struct signalfd_siginfo si;

	if (read(w->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		sandbox_test_forbidden();
		return;
	}
	if (si.ssi_signo == SIGUSR1) {
		usernat_stats_foreach(d->un, log_stat, NULL);
		/* tx_drops last: tests wait for it (tests/lib/common.sh) */
		g_message("stat tx_batches %" G_GUINT64_FORMAT,
			  d->tr->tx_batches);
		g_message("stat tx_drops %" G_GUINT64_FORMAT, d->tr->tx_drops);
		return;
	}
	g_message("signal %d, exiting", si.ssi_signo);
	d->loop.quit = true;
}

/**
 * raise_nofile() - Use the hard descriptor limit: each NAT flow holds a
 * socket, and the stack sizes its flow cap from RLIMIT_NOFILE
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/** default_switch() - Per-user default switch directory */
static char *default_switch(void)
{
	const char *rt = g_getenv("XDG_RUNTIME_DIR");

	if (rt && *rt)
		return g_strdup_printf("switch://%s/usernat.switch", rt);
	return g_strdup_printf("switch:///tmp/usernat-%u.switch",
			       (unsigned)getuid());
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sandbox_test_armed())
		sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return loop_add(&d->loop, &d->sig_w, fd, EPOLLIN, sig_ready);
}

/*
 * GLib's parser accepts "--flag=VALUE" for options that take no value and
 * drops the value: "--restrict=no" would turn the restriction on.  Refuse
 * it before GLib sees it.
 */
static int check_flag_values(const GOptionEntry *const *tables, int argc,
			     char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const GOptionEntry *const *t;
		const char *eq;

		if (strncmp(argv[i], "--", 2) || !(eq = strchr(argv[i], '=')))
			continue;
		for (t = tables; *t; t++) {
			const GOptionEntry *e;

			for (e = *t; e->long_name; e++) {
				size_t n = strlen(e->long_name);

				if (e->arg != G_OPTION_ARG_NONE &&
				    !(e->flags & G_OPTION_FLAG_NO_ARG))
					continue;
				if ((size_t)(eq - argv[i] - 2) == n &&
				    !strncmp(argv[i] + 2, e->long_name, n)) {
					fprintf(stderr, "usernat: option --%s "
						"takes no value\nTry 'usernat "
						"--help'.\n", e->long_name);
					return -1;
				}
			}
		}
	}
	return 0;
}

static int parse_options(struct daemon *d, int *argc, char ***argv)
{
	GOptionContext *ctx;
	GOptionGroup *g;
	static const GOptionEntry *const tables[] = {
		transport_entries, net_entries, dhcp_entries, nat_entries,
		policy_entries, security_entries, NULL
	};
	const GOptionEntry *const *t;
	GError *err = NULL;
	int ret = 0;

	ctx = g_option_context_new("- user-mode NAT network for virtual "
				   "machines");
	g_option_context_set_summary(ctx,
		"Give guests of QEMU (or any VDE program) a NATed network with "
		"DHCP, DNS\nand the host's loopback behind the gateway, with "
		"no root and no tap device.\nWith no transport option, usernat "
		"hosts a VDE switch at a per-user path.");
	g_option_context_set_description(ctx,
		"Examples:\n"
		"  usernat --socket /tmp/un.sock\n"
		"  qemu-system-x86_64 ... -netdev stream,id=n0,server=off,"
		"addr.type=unix,addr.path=/tmp/un.sock \\\n"
		"      -device virtio-net-pci,netdev=n0\n\n"
		"  usernat --vde switch:///tmp/sw\n"
		"  qemu-system-x86_64 ... -netdev vde,id=n0,sock=vde:///tmp/sw "
		"-device virtio-net-pci,netdev=n0\n\n"
		"Signals: SIGUSR1 logs the counters; SIGINT/SIGTERM exit.\n"
		"Exit status: 0 after a signal, 1 on a run-time failure, 2 on "
		"bad options.\n");
	/* One group, so that plain --help lists every option */
	g = g_option_group_new(NULL, NULL, NULL, d, NULL);
	for (t = tables; *t; t++)
		g_option_group_add_entries(g, *t);
	g_option_context_set_main_group(ctx, g);

	if (check_flag_values(tables, *argc, *argv)) {
		ret = -1;
	} else if (!g_option_context_parse(ctx, argc, argv, &err)) {
		fprintf(stderr, "usernat: %s\nTry 'usernat --help'.\n",
			err->message);
		g_error_free(err);
		ret = -1;
	} else if (*argc > 1) {
		fprintf(stderr, "usernat: unexpected argument '%s'\n"
			"Try 'usernat --help'.\n", (*argv)[1]);
		ret = -1;
	} else if (!!opt_vde + !!opt_socket + !!opt_vhost_user > 1) {
		fprintf(stderr, "usernat: give one of --vde, --socket and "
			"--vhost-user\n");
		ret = -1;
	}
	g_option_context_free(ctx);
	return ret;
}

/**
 * enter_sandbox() - Give up privileges before serving guests (sandbox.c)
 * Return: 0, or the exit status after printing why
 */
static int enter_sandbox(const struct sandbox_opts *so)
{
	char *err = NULL;
	int ret = sandbox_enter(so, &err);

	if (!ret)
		return 0;
	fprintf(stderr, "usernat: %s\n", err ? err : strerror(-ret));
	g_free(err);
	return ret == -EPERM || ret == -EINVAL ? 2 : 1;
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	struct loop_ext ext;
	struct sandbox_opts so = { 0 };
	char *err = NULL, *url = NULL;
	size_t max_frame;
	int ret = 0;

	/* First of all: nothing the parent leaked may survive into the
	 * sandbox (sandbox.c) */
	sandbox_fds_init();
	sandbox_test_init();
	g_log_set_default_handler(log_handler, NULL);
	d.cfg = usernat_config_new();
	if (parse_options(&d, &argc, &argv)) {
		usernat_config_free(d.cfg);
		return 2;
	}
	if (opt_version) {
		printf("usernat %s\n", PACKAGE_VERSION);
		return 0;
	}
	so = (struct sandbox_opts){ .off = opt_no_sandbox,
				    .log_only = opt_sandbox_log,
				    .runas = opt_runas,
				    .allow_root = opt_allow_root };
	if (sandbox_check_opts(&so, &err)) {
		fprintf(stderr, "usernat: %s\n", err);
		g_free(err);
		usernat_config_free(d.cfg);
		return 2;
	}
	raise_nofile();
	d.un = usernat_new(d.cfg, out_to_transport, &d, &err);
	if (!d.un) {
		fprintf(stderr, "usernat: %s\n", err ? err : "cannot start");
		free(err);
		usernat_config_free(d.cfg);
		return 2;
	}
	log_level = usernat_config_log_level(d.cfg);
	ext = (struct loop_ext){ .watch = ext_watch, .unwatch = ext_unwatch,
				 .wait = ext_wait, .ctx = d.un };
	if (!loop_init(&d.loop))
		loop_use(&d.loop, &ext);
	if (!d.loop.ext || setup_signals(&d)) {
		fprintf(stderr, "usernat: cannot set up event loop: %s\n",
			strerror(errno));
		return 1;
	}

	max_frame = 14 + 4 + usernat_config_mtu(d.cfg);
	if (opt_socket) {
		d.tr = stream_transport_open(&d.loop, opt_socket, max_frame,
					     &err);
	} else if (opt_vhost_user) {
		d.tr = vhost_user_transport_open(&d.loop, opt_vhost_user,
						 max_frame, &err);
	} else {
		url = opt_vde ? g_strdup(opt_vde) : default_switch();
		d.tr = vde_transport_open(&d.loop, url, max_frame, &err);
	}
	if (!d.tr) {
		fprintf(stderr, "usernat: %s\n", err);
		g_free(err);
		ret = 1;
		goto out;
	}
	d.tr->to_stack = in_to_stack;
	d.tr->to_stack_off = in_off_to_stack;
	d.tr->set_offload = set_offload;
	d.tr->flush_stack = flush_stack;
	d.tr->to_stack_opaque = &d;
	if (d.tr->send_off)
		usernat_set_output_offload(d.un, out_off_to_transport);
	if (open_control(&d)) {
		ret = 1;
		goto out_tr;
	}

	ret = enter_sandbox(&so);
	if (ret) {
		control_close(d.ctl);
		goto out_tr;
	}
	g_message("ready on %s, %s", d.tr->where, sandbox_describe());
	if (d.tr->qemu_args) {
		printf("Connect QEMU with:\n  %s\n", d.tr->qemu_args);
		fflush(stdout);
	}
	/* frames queued before the loop (none today) must not wait for the
	 * first event */
	if (d.tr->batch_end)
		d.tr->batch_end(d.tr);
	while (!d.loop.quit) {
		if (loop_run_once(&d.loop, -1) < 0)
			break;
		if (d.tr->batch_end)
			d.tr->batch_end(d.tr);
	}

	control_close(d.ctl);
out_tr:
	d.tr->free(d.tr);
out:
	usernat_free(d.un);
	usernat_config_free(d.cfg);
	loop_fini(&d.loop);
	g_free(url);
	g_free(opt_vde);
	g_free(opt_socket);
	g_free(opt_vhost_user);
	g_free(opt_control);
	g_free(opt_runas);
	return ret;
}
