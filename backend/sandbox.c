// SPDX-License-Identifier: GPL-2.0-or-later
/* sandbox.c - the daemon gives up what it doesn't need once it is set up
 *
 * DOC: Theory of operation
 *
 * usernat parses bytes from guests it doesn't trust, so a bug in a parser
 * must not become the host user's (or root's) full power.  The daemon is
 * set up in two phases:
 *
 * 1. Setup, with whatever privileges it was started with: inherited
 *    descriptors are closed first thing (sandbox_fds_init(): a descriptor
 *    leaked by the parent, such as a privileged socket or a file opened for
 *    writing, must not reach a compromised usernat), then options are
 *    parsed, the stack instance is created (DNS sockets, the ICMP probe and
 *    its raw socket when ping sockets are refused, the pcap file, port
 *    forwards that may bind privileged ports), the transport opened (tap
 *    devices need root or CAP_NET_ADMIN) and the control socket bound.
 *
 * 2. sandbox_enter(), before the first frame is read:
 *    - started as root: switch to --runas USER (no supplementary groups,
 *      then setresgid(), setresuid(), and a check that uid 0 can't come
 *      back), or refuse to go on unless --allow-root was given;
 *    - PR_SET_NO_NEW_PRIVS: no execve() can ever grant privileges again;
 *    - every capability dropped: effective, permitted, inheritable,
 *      ambient, and the bounding set when we may (CAP_SETPCAP).  usernat
 *      needs none after setup: capabilities are checked when a socket is
 *      created, so the ICMP raw socket opened during setup keeps working;
 *      the sockets opened per flow afterwards are ordinary (or ping)
 *      sockets.  A new raw socket can't be had after this, which only
 *      matters if neither ping nor raw sockets worked at start-up;
 *    - a seccomp filter (libseccomp) that allows the system calls listed in
 *      sandbox_allow[] below, some only with given arguments, and kills
 *      the process for any other (SCMP_ACT_KILL_PROCESS).
 *
 * Why kill rather than fail the call with EPERM: a call outside the list
 * is either a bug in the list, found by the test suite (which runs every
 * daemon with the filter on) and by --sandbox-log, or an attacker probing;
 * a silent EPERM would hide the first and let the second keep trying.  The
 * kernel logs each kill (audit type=1326, with the syscall number) and the
 * exit status is 159 (SIGSYS), so the cause is plain.
 *
 * The list was derived by running the whole test suite (command line,
 * namespace and guest tests, every transport) with `strace -f` attached to
 * each daemon, keeping what it called after the filter was loaded, plus
 * what rare paths need (abort(), stdio on a terminal, a forward added at
 * run time, other architectures' names for the same calls); then the suite
 * ran with every daemon sandboxed, a gap showing up as a type=1326 audit
 * record; see README.md, "Security".  --no-sandbox turns phase 2's filter
 * and capability drop off (valgrind and seccomp don't mix), --sandbox-log
 * makes the filter log instead of kill.
 *
 * Not done here: a mount namespace (the daemon can still open files its
 * user may open: the pcap file and resolv.conf need that), and limits on
 * what it may connect to beyond the egress policy (policy.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <glib.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "sandbox.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT		47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* What the sandbox ended up being, for the "ready" line */
static char sandbox_what[160] = "no sandbox";

/* The test hook: USERNAT_TEST_FORBIDDEN_SYSCALL, read once at start */
static const char *sandbox_test_call;

/**
 * sandbox_close_from() - Close every descriptor from @first up
 *
 * close_range(2) where the kernel has it (5.9), else each one listed in
 * /proc/self/fd (collected first: closing while reading the directory
 * would close the directory's own descriptor).
 */
static void sandbox_close_from(int first)
{
	int fds[1024], n = 0, i, dfd;
	struct dirent *de;
	DIR *d;

	if (!syscall(SYS_close_range, (unsigned int)first, ~0U, 0))
		return;
	do {
		if (!(d = opendir("/proc/self/fd")))
			return;
		dfd = dirfd(d);
		n = 0;
		while ((de = readdir(d)) && n < (int)G_N_ELEMENTS(fds)) {
			int fd = atoi(de->d_name);

			if (de->d_name[0] != '.' && fd >= first && fd != dfd)
				fds[n++] = fd;
		}
		closedir(d);
		for (i = 0; i < n; i++)
			close(fds[i]);
	} while (n == (int)G_N_ELEMENTS(fds));
}

/**
 * sandbox_fds_init() - Close inherited descriptors; make sure 0-2 are open
 *
 * Call first thing in main(), before anything is opened: every descriptor
 * above 2 is then one the parent leaked.  A closed stdin, stdout or stderr
 * becomes /dev/null, so that a socket opened later can't land on
 * descriptor 2 and receive the log.
 */
void sandbox_fds_init(void)
{
	int fd;

	sandbox_close_from(3);
	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			abort();	/* 0-2 can't be had: nothing is safe */
	}
}

/**
 * sandbox_check_opts() - Check the options early, before setup
 * @o:		options; @o->runas is looked up (the name must exist)
 * @err:	on failure, a newly allocated message (g_free())
 *
 * Return: 0, or -EINVAL with *@err set
 */
int sandbox_check_opts(const struct sandbox_opts *o, char **err)
{
	if (o->off && o->log_only) {
		*err = g_strdup("give only one of --no-sandbox and "
				"--sandbox-log");
		return -EINVAL;
	}
	if (o->runas && !getpwnam(o->runas)) {
		*err = g_strdup_printf("--runas: no user '%s'", o->runas);
		return -EINVAL;
	}
	return 0;
}

/**
 * sandbox_user() - Leave root: switch to --runas USER, or refuse
 * @err:	on failure, a newly allocated message (g_free())
 *
 * Return: 0; -EPERM if started as root with neither --runas nor
 * --allow-root, or --runas without root (a usage error); other negative
 * errno if the switch itself failed
 */
static int sandbox_user(const struct sandbox_opts *o, char **err)
{
	struct passwd *pw = o->runas ? getpwnam(o->runas) : NULL;
	uid_t uid;
	gid_t gid;

	if (o->runas && !pw) {
		*err = g_strdup_printf("--runas: no user '%s'", o->runas);
		return -EINVAL;
	}
	if (geteuid() != 0 && getuid() != 0) {
		if (pw && pw->pw_uid != getuid()) {
			*err = g_strdup_printf("--runas %s: only root can "
					       "switch user", o->runas);
			return -EPERM;
		}
		return 0;
	}
	if (!pw) {
		if (o->allow_root) {
			g_warning("running as root (--allow-root); --runas "
				  "USER would be safer");
			return 0;
		}
		*err = g_strdup("refusing to serve guests as root: give "
				"--runas USER (e.g. --runas nobody) to switch "
				"to USER once tap devices and sockets are open, "
				"or --allow-root to stay root (capabilities are "
				"dropped either way)");
		return -EPERM;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid)) {
		int ret = -errno;

		*err = g_strdup_printf("--runas %s: cannot switch user: %s",
				       o->runas, strerror(errno));
		return ret;
	}
	/* Paranoia: the switch must be for good */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		*err = g_strdup("--runas: could regain root after switching");
		return -EPERM;
	}
	return 0;
}

/**
 * sandbox_bounding() - Empty the capability bounding set, if we may
 *
 * Needs CAP_SETPCAP, so it runs before the user switch; without it the set
 * stays, which no_new_privs makes harmless (nothing can be gained by
 * execve()).
 */
static void sandbox_bounding(void)
{
	int cap;

	for (cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EPERM)
			break;	/* EINVAL: past the kernel's last capability */
}

/**
 * sandbox_caps() - Drop every capability, for good: ambient, then the
 * effective, permitted and inheritable sets
 * Return: 0 or negative errno
 */
static int sandbox_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

#ifdef HAVE_SECCOMP
/*
 * The allow-list.  Each entry is a syscall name (resolved by libseccomp for
 * the build architecture; a name this architecture lacks is skipped) and
 * optionally one argument condition: argument @arg, masked with @mask,
 * must equal one of the @nvals values in @vals.
 */
struct sandbox_rule {
	const char *name;
	int arg;			/* -1: any arguments */
	uint64_t mask;
	uint64_t vals[8];
	unsigned int nvals;
};

#define ANY(n)		{ .name = (n), .arg = -1 }
#define ARG(n, a, m, ...)						\
	{ .name = (n), .arg = (a), .mask = (m), .vals = { __VA_ARGS__ },	\
	  .nvals = sizeof((uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t) }

static const struct sandbox_rule sandbox_allow[] = {
	/* the event loop, signalfd, timerfds, eventfds (vhost-user) */
	ANY("epoll_wait"), ANY("epoll_pwait"), ANY("epoll_ctl"),
	ANY("read"), ANY("write"), ANY("writev"),
	ANY("poll"), ANY("ppoll"),		/* vde_transport.c, libvdeplug */
	ANY("timerfd_settime"), ANY("close"),
	/* sockets: NAT flows, DNS, forwards, transports, control clients */
	ARG("socket", 0, 0xffffffff, AF_INET, AF_INET6, AF_UNIX),
	ANY("connect"), ANY("bind"), ANY("listen"), ANY("accept"),
	ANY("accept4"), ANY("shutdown"),
	ANY("setsockopt"), ANY("getsockopt"),
	ANY("getsockname"), ANY("getpeername"),	/* flow listing */
	ANY("sendto"), ANY("recvfrom"), ANY("sendmsg"), ANY("recvmsg"),
	ANY("recvmmsg"),
	/* FIONREAD is SIOCINQ, TIOCOUTQ is SIOCOUTQ (TCP); TCGETS: stdio
	 * asks whether stdout is a terminal; SIOCGIFINDEX: an IPv6
	 * nameserver with a %scope in a re-read resolv.conf */
	ARG("ioctl", 1, 0xffffffff, FIONREAD, TIOCOUTQ, TCGETS,
	    SIOCGIFINDEX),
	/* F_GET_SEALS: vhost-user checks a memory region can't shrink */
	ARG("fcntl", 1, 0xffffffff, F_GETFL, F_SETFL, F_GETFD, F_SETFD,
	    F_GET_SEALS),
	/* files: pcap capture (control "pcap start"), resolv.conf re-read,
	 * unlinking our sockets at exit */
	ANY("openat"), ANY("newfstatat"), ANY("fstat"), ANY("statx"),
	ANY("lseek"), ANY("unlink"), ANY("unlinkat"),
	/* the switch:// VDE switch (libvdeplug_switch): each new port's
	 * socket gets the mode of the switch's own; at exit it removes its
	 * directory */
	ANY("chmod"), ANY("fchmodat"), ANY("rmdir"),
	/* memory: malloc, vhost-user guest memory (shared mappings of the
	 * descriptors QEMU sends); never executable */
	ARG("mmap", 2, PROT_EXEC, 0),
	ARG("mprotect", 2, PROT_EXEC, 0),
	ANY("munmap"), ANY("mremap"), ANY("madvise"), ANY("brk"),
	/* time, randomness (DNS IDs, TCP ISNs), identity */
	ANY("clock_gettime"), ANY("gettimeofday"), ANY("time"),
	ANY("getrandom"), ANY("getpid"), ANY("gettid"),
	ANY("getuid"), ANY("geteuid"), ANY("getgid"), ANY("getegid"),
	/* signals, locks, the way out */
	ANY("rt_sigprocmask"), ANY("rt_sigreturn"), ANY("restart_syscall"),
	ANY("futex"), ANY("exit_group"), ANY("exit"),
	/* tap:// writes batches through an io_uring that can only write to
	 * the tap (vde/tap_tx.c); set up before the sandbox */
	ANY("io_uring_enter"),
};

/*
 * Builds with --enable-sanitizers only: what the ASan/UBSan runtime does
 * after the sandbox is up - at exit LeakSanitizer stops the process in a
 * cloned tracer that ptrace()s it, reads /proc/self/task and /proc/self/
 * maps; a report unwinds and symbolizes.  These widen the filter a lot
 * (ptrace, clone), which is acceptable for a test build only: a release
 * build never has them.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANDBOX_SANITIZERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZERS 1
#endif
#endif
#ifdef SANDBOX_SANITIZERS
static const struct sandbox_rule sandbox_allow_sanitizers[] = {
	ANY("clone"), ANY("clone3"), ANY("ptrace"), ANY("wait4"),
	ANY("waitid"), ANY("prctl"), ANY("sched_yield"), ANY("getppid"),
	ANY("sigaltstack"), ANY("rt_sigaction"), ANY("getdents64"),
	ANY("readlink"), ANY("readlinkat"), ANY("nanosleep"),
	ANY("clock_nanosleep"), ANY("sched_getaffinity"), ANY("pipe2"),
	ANY("dup2"), ANY("dup3"), ANY("execve"), ANY("kill"), ANY("tgkill"),
	ANY("process_vm_readv"), ANY("getrlimit"), ANY("prlimit64"),
	ANY("set_robust_list"), ANY("rseq"), ANY("uname"), ANY("access"),
	ANY("open"), ANY("stat"), ANY("lstat"), ANY("getdents"),
};
#endif
#undef ANY
#undef ARG

/**
 * sandbox_rule_add() - Add one entry of sandbox_allow[] to @ctx
 * Return: 0 or negative errno (an unknown name is not an error)
 */
static int sandbox_rule_add(scmp_filter_ctx ctx, const struct sandbox_rule *r)
{
	int nr = seccomp_syscall_resolve_name(r->name), ret;
	unsigned int i;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	if (r->arg < 0)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	for (i = 0; i < r->nvals; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				       SCMP_CMP((unsigned int)r->arg,
						SCMP_CMP_MASKED_EQ, r->mask,
						r->vals[i]));
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * sandbox_self_rules() - kill()/tgkill() of our own process only: abort()
 * (a failed assertion) raises SIGABRT with tgkill()
 */
static int sandbox_self_rules(scmp_filter_ctx ctx)
{
	pid_t pid = getpid();
	int ret;

	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
			       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pid));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				       SCMP_A0(SCMP_CMP_EQ,
					       (scmp_datum_t)pid));
	return ret;
}

/**
 * sandbox_seccomp() - Load the allow-list filter
 * @log_only:	log (and allow) what is outside the list instead of killing
 *
 * Return: 0, or negative errno with *@err set
 */
static int sandbox_seccomp(bool log_only, char **err)
{
	uint32_t deflt = log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(deflt);
	size_t i;
	int ret = 0;

	if (!ctx) {
		*err = g_strdup("seccomp: cannot create a filter");
		return -ENOMEM;
	}
	/* A syscall of another ABI (x32, i386 on x86_64) is never ours */
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (i = 0; !ret && i < G_N_ELEMENTS(sandbox_allow); i++)
		ret = sandbox_rule_add(ctx, &sandbox_allow[i]);
#ifdef SANDBOX_SANITIZERS
	for (i = 0; !ret && i < G_N_ELEMENTS(sandbox_allow_sanitizers); i++)
		ret = sandbox_rule_add(ctx, &sandbox_allow_sanitizers[i]);
#endif
	if (!ret)
		ret = sandbox_self_rules(ctx);
	if (!ret)
		ret = seccomp_load(ctx);
	if (ret)
		*err = g_strdup_printf("seccomp: cannot load the filter: %s",
				       strerror(-ret));
	seccomp_release(ctx);
	return ret;
}
#else
static int sandbox_seccomp(bool log_only, char **err)
{
	g_warning("built without libseccomp (--disable-seccomp): no system "
		  "call filter");
	return 0;
}
#endif

/**
 * sandbox_enter() - Leave root, drop capabilities, load the filter
 * @o:		options
 * @err:	on failure, a newly allocated message (g_free())
 *
 * Call once, after setup and before serving guests.  The process can't
 * undo any of it.
 *
 * Return: 0; -EPERM or -EINVAL for a usage problem (root without --runas
 * or --allow-root: exit status 2); another negative errno if a step failed
 */
int sandbox_enter(const struct sandbox_opts *o, char **err)
{
	int ret;

	*err = NULL;
	if (!o->off)
		sandbox_bounding();
	ret = sandbox_user(o, err);
	if (ret)
		return ret;
	if (o->off) {
		snprintf(sandbox_what, sizeof(sandbox_what), "no sandbox "
			 "(--no-sandbox), uid %u", (unsigned int)getuid());
		return 0;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		ret = -errno;
		*err = g_strdup_printf("no_new_privs: %s", strerror(errno));
		return ret;
	}
	ret = sandbox_caps();
	if (ret) {
		*err = g_strdup_printf("cannot drop capabilities: %s",
				       strerror(-ret));
		return ret;
	}
	ret = sandbox_seccomp(o->log_only, err);
	if (ret)
		return ret;
	snprintf(sandbox_what, sizeof(sandbox_what), "sandboxed (%s, no "
		 "capabilities, no_new_privs, uid %u)",
#ifdef HAVE_SECCOMP
		 o->log_only ? "seccomp log-only" : "seccomp",
#else
		 "no seccomp",
#endif
		 (unsigned int)getuid());
	return 0;
}

/** sandbox_describe() - What sandbox_enter() did, for the log */
const char *sandbox_describe(void)
{
	return sandbox_what;
}

/**
 * sandbox_test_init() - Read the test hook, USERNAT_TEST_FORBIDDEN_SYSCALL
 *
 * Tests prove the filter is in force: with the variable set, SIGUSR2 makes
 * the daemon attempt a call the filter forbids ("mount": a syscall outside
 * the list; "netlink": socket() with an address family outside the list).
 * Read once at start; harmless without the filter (the mount has no
 * target, the netlink socket is closed again).
 */
void sandbox_test_init(void)
{
	const char *v = getenv("USERNAT_TEST_FORBIDDEN_SYSCALL");

	if (v && (!strcmp(v, "mount") || !strcmp(v, "netlink")))
		sandbox_test_call = v;
}

bool sandbox_test_armed(void)
{
	return sandbox_test_call;
}

/** sandbox_test_forbidden() - Attempt the forbidden call; log the result */
void sandbox_test_forbidden(void)
{
	long r;

	if (!sandbox_test_call)
		return;
	g_message("sandbox test: attempting %s", sandbox_test_call);
	if (!strcmp(sandbox_test_call, "mount")) {
		r = mount("none", "/nonexistent/usernat-sandbox-test",
			  "tmpfs", MS_RDONLY, NULL);
	} else {
		r = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (r >= 0)
			close((int)r);
	}
	g_message("sandbox test: %s returned %ld (%s)", sandbox_test_call, r,
		  r < 0 ? strerror(errno) : "success");
}
