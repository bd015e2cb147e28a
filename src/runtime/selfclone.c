/* CVE-2019-5736: a container whose entry point is "#!/proc/self/exe" makes its init
 * execute the runtime's own binary, and can then reopen that binary for writing through
 * /proc/PID/exe and replace hull on the host. Running from a sealed memfd copy makes
 * /proc/self/exe point at memory that cannot be written. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool running_sealed(void)
{
	_cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

int selfclone_ensure(char **argv, struct hull_err *err)
{
	if (running_sealed())
		return 0;
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return hull_error(err, errno, "open /proc/self/exe");
	struct stat st;
	if (fstat(self, &st) < 0)
		return hull_error(err, errno, "stat /proc/self/exe");
	_cleanup_close_ int mem = memfd_create("hull", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem < 0)
		return hull_error(err, errno, "memfd_create");
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(mem, self, NULL, (size_t)left);
		if (n <= 0)
			return hull_error(err, n < 0 ? errno : EIO, "copy hull into memory");
		left -= n;
	}
	if (fcntl(mem, F_ADD_SEALS, SEALS) < 0)
		return hull_error(err, errno, "seal hull's memory copy");
	fexecve(mem, argv, environ);
	return hull_error(err, errno, "re-execute hull from its sealed copy");
}
