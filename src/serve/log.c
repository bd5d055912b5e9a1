/* log — timestamped lines to the error log; whole lines, so workers never interleave. */
#define _POSIX_C_SOURCE 200809L
#include "serve/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"

static int log_fd = 2;
static int log_level = LOG_INFO;

int log_open(const char *path, int level, char *err)
{
    log_level = level;
    if (!path || strcmp(path, "-") == 0) {
        log_fd = 2;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return err_set(err, "--error-logfile %s: %s", path, strerror(errno));
    log_fd = fd;
    return 0;
}

void log_msg(int level, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
    if (level < log_level) return;
    char line[1024];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "[%Y-%m-%d %H:%M:%S +0000] ", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, "[%d] [%s] ", (int)getpid(), names[level]);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    n = k < 0 ? n : n + (size_t)k >= sizeof line - 1 ? sizeof line - 2 : n + (size_t)k;
    /* one event, one line: a control byte that came from a client, a file or a
     * directory name (a name with a newline forges a line) is written escaped */
    char safe[sizeof line * 4];
    size_t m = 0;
    for (size_t i = 0; i < n && m + 5 < sizeof safe; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (ch < 0x20 || ch == 0x7f)
            m += (size_t)snprintf(safe + m, sizeof safe - m, "\\x%02x", ch);
        else
            safe[m++] = (char)ch;
    }
    safe[m++] = '\n';
    ssize_t w = write(log_fd, safe, m);
    (void)w; /* nowhere left to report a failing log */
}
