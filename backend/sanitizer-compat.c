// SPDX-License-Identifier: GPL-2.0-or-later
/* sanitizer-compat.c - builds with --enable-sanitizers only: let the ASan
 * runtime load libvdeplug's plugins
 *
 * libvdeplug dlopen()s its plugins (tap://, vde://, switch://, ...) with
 * RTLD_DEEPBIND, which the ASan runtime refuses, killing the process
 * (google/sanitizers issue 611).  The namespace tests attach the daemon to
 * a tap:// plugin, and check.sh runs them in a sanitizer build, so there
 * this dlopen() - found before libdl's and the ASan interceptor, being in
 * the executable - drops the flag and passes the call on.  A plugin then
 * binds to the executable's symbols first; none of ours clash with theirs.
 * Never built into a release binary (Makefile.am, "if SANITIZERS").
 */
#include <dlfcn.h>
#include <stddef.h>

void *dlopen(const char *file, int mode)
{
	static void *(*next)(const char *, int);

	if (!next)
		*(void **)&next = dlsym(RTLD_NEXT, "dlopen");
	return next ? next(file, mode & ~RTLD_DEEPBIND) : NULL;
}
