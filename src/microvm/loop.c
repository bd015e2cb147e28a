/* The event loop: one epoll set for the host fds the devices read (the container's stdin,
 * the signalfd), and an eventfd that wakes the loop when the VM ends. A paused fd is
 * taken out of the set (not just given no events: epoll reports hang-ups regardless,
 * which would spin on a closed pipe nobody may read yet). */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm.h"

int vm_loop_init(struct vm_loop *l, struct hull_err *err)
{
	l->n = 0;
	l->wake_fd = -1;
	pthread_mutex_init(&l->lock, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return hull_error(err, errno, "epoll_create1");
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0)
		return hull_error(err, errno, "eventfd");
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0)
		return hull_error(err, errno, "epoll_ctl");
	return 0;
}

void vm_loop_destroy(struct vm_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	l->epfd = l->wake_fd = -1;
	pthread_mutex_destroy(&l->lock);
}

int vm_loop_watch(struct vm_loop *l, int fd, uint32_t events, vm_fd_cb cb, void *dev,
		  struct hull_err *err)
{
	int r = 0;
	pthread_mutex_lock(&l->lock);
	if (l->n == VM_WATCH_MAX) {
		r = hull_error(err, 0, "too many watched fds");
	} else {
		struct vm_watch *w = &l->w[l->n];
		*w = (struct vm_watch){.fd = fd, .cb = cb, .dev = dev};
		struct epoll_event ev = {.events = events, .data.ptr = w};
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			r = hull_error(err, errno, "epoll_ctl %d", fd);
		} else {
			w->active = true;
			l->n++;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

void vm_loop_rewatch(struct vm_loop *l, int fd, uint32_t events)
{
	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < l->n; i++) {
		struct vm_watch *w = &l->w[i];
		if (w->fd != fd)
			continue;
		struct epoll_event ev = {.events = events, .data.ptr = w};
		if (!events && w->active)
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		else if (events)
			epoll_ctl(l->epfd, w->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
		w->active = events != 0;
	}
	pthread_mutex_unlock(&l->lock);
}

void vm_loop_wake(struct vm_loop *l)
{
	uint64_t one = 1;
	if (write(l->wake_fd, &one, sizeof one) < 0) {
		/* already signalled (the counter is nonblocking): the loop wakes anyway */
	}
}

int vm_loop_run(struct vm_loop *l, const int *stopping, struct hull_err *err)
{
	struct epoll_event ev[8];
	while (!__atomic_load_n(stopping, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(l->epfd, ev, 8, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_error(err, errno, "epoll_wait");
		for (int i = 0; i < n && !__atomic_load_n(stopping, __ATOMIC_ACQUIRE); i++) {
			struct vm_watch *w = ev[i].data.ptr;
			if (w)
				w->cb(w->dev, w->fd, ev[i].events);
		}
	}
	return 0;
}
