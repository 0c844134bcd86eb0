/*
 * agent_files.h: the agent's files on disk.  Every file it hands to
 * others is replaced atomically: the new bytes go to a temporary file in
 * the same directory, which is synced and then renamed over the old one,
 * and the directory is synced, so a reader sees the old file or the new
 * one and a crash leaves one of them.  Paths are never followed through
 * a symbolic link at the last component.
 */
#ifndef SVIDCA_AGENT_FILES_H
#define SVIDCA_AGENT_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../server/rc.h"

#define AGENT_FILES_TMP_PREFIX	".tmp-"	/* temporary files start so */

/*
 * Replace dir/name with data[0..len), mode bits exactly mode (the umask
 * does not apply).  RC_IO (logged with the path and errno) on any
 * failure, in which case dir/name is unchanged and no temporary file is
 * left.  name must be one path component.
 */
enum rc		 agent_files_write(const char *dir, const char *name,
		    const void *data, size_t len, mode_t mode) MUST_CHECK;

/*
 * Rename dir/from to dir/to and sync dir.  RC_NOT_FOUND when from does
 * not exist, RC_IO (logged) on another failure.
 */
enum rc		 agent_files_rename(const char *dir, const char *from,
		    const char *to) MUST_CHECK;

/*
 * Read the whole of path into a fresh NUL-terminated buffer (*out, the
 * caller frees it; *len excludes the NUL).  RC_NOT_FOUND when the file
 * does not exist, RC_TOO_LARGE above max bytes, RC_IO otherwise.
 * Nothing is logged for RC_NOT_FOUND.
 */
enum rc		 agent_files_read(const char *path, size_t max, char **out,
		    size_t *len) MUST_CHECK;

/*
 * Make directory path with mode, or accept one that is already there
 * (its mode is left alone).  RC_IO when path exists as something other
 * than a directory (a symbolic link included) or cannot be made.
 */
enum rc		 agent_files_mkdir(const char *path, mode_t mode) MUST_CHECK;

/*
 * Remove dir/name and everything below it, at most depth levels deep;
 * symbolic links are removed, never followed.  RC_OK also when it did not
 * exist.  RC_IO (logged) when something could not be removed.
 */
enum rc		 agent_files_remove_tree(const char *dir, const char *name,
		    int depth) MUST_CHECK;

/*
 * Is s usable as one path component that we create: 1..255 bytes of
 * [A-Za-z0-9._-], not "." or "..", not starting with '.' (our temporary
 * files do)?
 */
bool		 agent_files_is_safe_name(const char *s);

/* Join dir and name into out (size bytes); false if it does not fit. */
bool		 agent_files_join(char *out, size_t size, const char *dir,
		    const char *name);

#endif
