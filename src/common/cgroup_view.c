#include "cgroup_view.h"

#include <stdlib.h>

void cgroup_view_free(struct cgroup_view *view)
{
	for (size_t i = 0; i < view->n; i++) {
		free(view->entries[i].name);
		free(view->entries[i].fstype);
		free(view->entries[i].fs_options);
		free(view->entries[i].host_dir);
	}
	free(view->entries);
	view->entries = NULL;
	view->n = 0;
}
