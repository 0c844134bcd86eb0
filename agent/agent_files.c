/*
 * agent_files.c: atomic file replacement, whole-file reads and bounded
 * tree removal for the agent (see agent_files.h).
 */
#include "agent_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../server/bounds.h"
#include "../server/log.h"

#define FILES_NAME_MAX		255	/* bytes of one path component */
#define FILES_TMP_RANDOM	8	/* random bytes in a temporary name */

/*
 * Is s usable as one component we create?  The entry IDs from the server
 * become directory names, so this is what keeps a hostile ID from
 * reaching outside the SVID directory.
 */
bool
agent_files_is_safe_name(const char *s)
{
	size_t i, len;

	len = strlen(s);
	if (len == 0 || len > FILES_NAME_MAX || s[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-')
			continue;
		return false;
	}
	return true;
}

/* Join dir and name with one '/'; false if out is too small. */
bool
agent_files_join(char *out, size_t size, const char *dir, const char *name)
{
	int n;

	n = snprintf(out, size, "%s/%s", dir, name);
	return n >= 0 && (size_t)n < size;
}

/* Write all of data to fd, across short writes and signals. */
static int
write_all(int fd, const unsigned char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replace dir/name atomically (see agent_files.h).  The temporary name
 * carries random bytes so that two writers never share one, and O_EXCL
 * with O_NOFOLLOW refuses a planted file or link.
 */
enum rc
agent_files_write(const char *dir, const char *name, const void *data,
    size_t len, mode_t mode)
{
	unsigned char rnd[FILES_TMP_RANDOM];
	char tmp[FILES_NAME_MAX + 1];
	int dfd = -1, fd = -1, n;
	bool made = false;
	enum rc rc = RC_IO;

	randombytes_buf(rnd, sizeof(rnd));
	n = snprintf(tmp, sizeof(tmp), "%s%02x%02x%02x%02x%02x%02x%02x%02x",
	    AGENT_FILES_TMP_PREFIX, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
	    rnd[5], rnd[6], rnd[7]);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return RC_INTERNAL;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_error("agent", "cannot open directory path=%s err=\"%s\"",
		    dir, strerror(errno));
		goto out;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode & 0777);
	if (fd < 0) {
		log_error("agent", "cannot create file path=%s/%s err=\"%s\"",
		    dir, tmp, strerror(errno));
		goto out;
	}
	made = true;

	/* fchmod: the umask may have taken bits that readers need. */
	if (fchmod(fd, mode & 0777) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		log_error("agent", "cannot write file path=%s/%s err=\"%s\"",
		    dir, name, strerror(errno));
		goto out;
	}
	n = close(fd);
	fd = -1;
	if (n != 0) {
		log_error("agent", "cannot write file path=%s/%s err=\"%s\"",
		    dir, name, strerror(errno));
		goto out;
	}

	if (renameat(dfd, tmp, dfd, name) != 0) {
		log_error("agent", "cannot rename file path=%s/%s err=\"%s\"",
		    dir, name, strerror(errno));
		goto out;
	}
	made = false;

	/* The rename is durable only once the directory is synced. */
	if (fsync(dfd) != 0) {
		log_error("agent", "cannot sync directory path=%s err=\"%s\"",
		    dir, strerror(errno));
		goto out;
	}

	rc = RC_OK;
out:
	if (fd >= 0)
		(void)close(fd);
	if (made)
		(void)unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		(void)close(dfd);
	return rc;
}

/* Rename within one directory, durably; see agent_files.h. */
enum rc
agent_files_rename(const char *dir, const char *from, const char *to)
{
	int dfd;
	enum rc rc = RC_IO;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_error("agent", "cannot open directory path=%s err=\"%s\"",
		    dir, strerror(errno));
		return RC_IO;
	}
	if (renameat(dfd, from, dfd, to) != 0) {
		if (errno == ENOENT) {
			rc = RC_NOT_FOUND;
			goto out;
		}
		log_error("agent", "cannot rename file path=%s/%s err=\"%s\"",
		    dir, from, strerror(errno));
		goto out;
	}
	if (fsync(dfd) != 0) {
		log_error("agent", "cannot sync directory path=%s err=\"%s\"",
		    dir, strerror(errno));
		goto out;
	}

	rc = RC_OK;
out:
	(void)close(dfd);
	return rc;
}

/* Read a whole file into a NUL-terminated buffer; see agent_files.h. */
enum rc
agent_files_read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;
	enum rc rc = RC_IO;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return RC_NOT_FOUND;
		log_error("agent", "cannot open file path=%s err=\"%s\"", path,
		    strerror(errno));
		return RC_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_error("agent", "not a regular file path=%s", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		log_error("agent", "file over its size limit path=%s max=%zu",
		    path, max);
		rc = RC_TOO_LARGE;
		goto out;
	}

	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("agent",
			    "cannot read file path=%s err=\"%s\"", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';

	*out = buf;
	buf = NULL;
	*len = got;
	rc = RC_OK;
out:
	if (buf != NULL) {
		sodium_memzero(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	(void)close(fd);
	return rc;
}

/* Make a directory or accept an existing one; see agent_files.h. */
enum rc
agent_files_mkdir(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return RC_OK;
	if (errno != EEXIST) {
		log_error("agent", "cannot make directory path=%s err=\"%s\"",
		    path, strerror(errno));
		return RC_IO;
	}
	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_error("agent", "not a directory path=%s", path);
		return RC_IO;
	}
	return RC_OK;
}

/*
 * Remove name inside the directory open as dfd, recursing at most depth
 * levels.  Returns 0 or -1 (with errno of the first failure).
 */
static int
remove_at(int dfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, ret = 0, saved = 0;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if (depth <= 0) {
		errno = ENOTEMPTY;
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		(void)close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_at(fd, de->d_name, depth - 1) != 0 && ret == 0) {
			saved = errno;
			ret = -1;
		}
	}
	(void)closedir(d);
	if (ret != 0) {
		errno = saved;
		return -1;
	}
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Remove dir/name and what it holds; see agent_files.h. */
enum rc
agent_files_remove_tree(const char *dir, const char *name, int depth)
{
	int dfd;
	enum rc rc = RC_IO;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_error("agent", "cannot open directory path=%s err=\"%s\"",
		    dir, strerror(errno));
		return RC_IO;
	}
	if (remove_at(dfd, name, depth) != 0) {
		log_error("agent", "cannot remove path=%s/%s err=\"%s\"", dir,
		    name, strerror(errno));
		goto out;
	}
	if (fsync(dfd) != 0)
		goto out;

	rc = RC_OK;
out:
	(void)close(dfd);
	return rc;
}
