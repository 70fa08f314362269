/* SPDX-License-Identifier: GPL-2.0-or-later
 * sandbox.h - the daemon's privilege drop: descriptors, user, capabilities,
 * no_new_privs and a seccomp allow-list
 */
#ifndef UN_SANDBOX_H
#define UN_SANDBOX_H

#include <stdbool.h>

/**
 * struct sandbox_opts - What the command line asked for
 * @off:	--no-sandbox: no seccomp filter, keep capabilities (debugging;
 *		--runas and the root check still apply)
 * @log_only:	--sandbox-log: syscalls outside the list are logged by the
 *		kernel (audit, "type=1326") and allowed, not fatal
 * @runas:	--runas USER: switch to USER after setup if started as root
 * @allow_root:	--allow-root: stay root (without capabilities) if started
 *		as root with no --runas
 */
struct sandbox_opts {
	bool off;
	bool log_only;
	const char *runas;
	bool allow_root;
};

void sandbox_fds_init(void);
int sandbox_check_opts(const struct sandbox_opts *o, char **err);
int sandbox_enter(const struct sandbox_opts *o, char **err);
const char *sandbox_describe(void);
void sandbox_test_init(void);
bool sandbox_test_armed(void);
void sandbox_test_forbidden(void);

#endif /* UN_SANDBOX_H */
