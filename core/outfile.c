#include "core/outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A small registry of open temporaries so a signal handler can unlink them. */
#define WW_OUTFILE_MAX_OPEN 8
static ww_outfile *volatile open_files[WW_OUTFILE_MAX_OPEN];

static void registry_set(ww_outfile *of, int add)
{
    for (int i = 0; i < WW_OUTFILE_MAX_OPEN; i++) {
        if (add && !open_files[i]) {
            open_files[i] = of;
            return;
        }
        if (!add && open_files[i] == of) open_files[i] = NULL;
    }
}

int ww_outfile_open(ww_outfile *of, const char *path, ww_error *err)
{
    memset(of, 0, sizeof *of);
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof of->path)
        return ww_fail(err, WW_EINVAL, "%s: invalid output path", path);
    if (path[len - 1] == '/')
        return ww_fail(err, WW_EINVAL, "%s: output path is a directory", path);
    memcpy(of->path, path, len + 1);

    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    snprintf(of->tmp_path, sizeof of->tmp_path, "%.*s.%s.tmp-XXXXXX", dirlen, path, path + dirlen);
    int fd = mkstemp(of->tmp_path);
    if (fd < 0) return ww_fail(err, WW_EIO, "%s: cannot write: %s", path, strerror(errno));
    /* mkstemp makes 0600; give the file the mode open(2) would: the existing
     * file's, or 0666 less the umask */
    struct stat st;
    mode_t mode;
    if (stat(path, &st) == 0) {
        mode = st.st_mode & 07777;
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    (void)fchmod(fd, mode); /* not fatal: the data is what matters */
    of->fp = fdopen(fd, "wb");
    if (!of->fp) {
        int e = errno;
        close(fd);
        unlink(of->tmp_path);
        return ww_fail(err, WW_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    registry_set(of, 1);
    return WW_OK;
}

int ww_outfile_commit(ww_outfile *of, ww_error *err)
{
    if (!of->fp) return ww_fail(err, WW_EINVAL, "%s: output not open", of->path);
    int bad = ferror(of->fp);
    int e = errno;
    if (fclose(of->fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    of->fp = NULL;
    if (bad) {
        unlink(of->tmp_path);
        registry_set(of, 0);
        return ww_fail(err, WW_EIO, "%s: write failed: %s", of->path, strerror(e));
    }
    if (rename(of->tmp_path, of->path) != 0) {
        e = errno;
        unlink(of->tmp_path);
        registry_set(of, 0);
        return ww_fail(err, WW_EIO, "%s: cannot write: %s", of->path, strerror(e));
    }
    registry_set(of, 0);
    return WW_OK;
}

void ww_outfile_abort(ww_outfile *of)
{
    if (of->fp) {
        fclose(of->fp);
        of->fp = NULL;
        unlink(of->tmp_path);
    }
    registry_set(of, 0);
}

void ww_outfile_abort_all_signal_safe(void)
{
    for (int i = 0; i < WW_OUTFILE_MAX_OPEN; i++) {
        ww_outfile *of = open_files[i];
        if (of) unlink(of->tmp_path);
    }
}
