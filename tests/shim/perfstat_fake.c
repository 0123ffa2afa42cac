/*  perfstat_fake — libperfstat test double with AIX's calling conventions:
    a wrong structure size is EINVAL, an enumeration starts at name->name
    ("" = first) and leaves the name of the next component there, and
    (NULL, NULL, size, 0) returns how many components exist. */
#include "perfstat_fake.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

perfstat_fake_t perfstat_fake;

void perfstat_fake_reset(void)
{
    memset(&perfstat_fake, 0, sizeof perfstat_fake);
}

//  Common checks of the *_total functions: one structure of the right size.
static int s_total(int fail_errno, void *name, void *userbuff, int size, int expected,
                   int desired, const void *value)
{
    perfstat_fake.calls++;
    if (fail_errno) {
        errno = fail_errno;
        return -1;
    }
    if (name || !userbuff || size != expected || desired != 1) {
        errno = EINVAL;
        return -1;
    }
    memcpy(userbuff, value, (size_t) size);
    return 1;
}

int perfstat_cpu_total(perfstat_id_t *name, perfstat_cpu_total_t *userbuff, int sizeof_userbuff,
                       int desired_number)
{
    return s_total(perfstat_fake.cpu_errno, name, userbuff, sizeof_userbuff,
                   (int) sizeof(perfstat_cpu_total_t), desired_number, &perfstat_fake.cpu);
}

int perfstat_partition_total(perfstat_id_t *name, perfstat_partition_total_t *userbuff,
                             int sizeof_userbuff, int desired_number)
{
    return s_total(perfstat_fake.partition_errno, name, userbuff, sizeof_userbuff,
                   (int) sizeof(perfstat_partition_total_t), desired_number,
                   &perfstat_fake.partition);
}

int perfstat_memory_total(perfstat_id_t *name, perfstat_memory_total_t *userbuff,
                          int sizeof_userbuff, int desired_number)
{
    return s_total(perfstat_fake.memory_errno, name, userbuff, sizeof_userbuff,
                   (int) sizeof(perfstat_memory_total_t), desired_number, &perfstat_fake.memory);
}

//  Enumerate count items of size bytes; each starts with its name (the first
//  member of perfstat_disk_t and perfstat_netinterface_t).
static int s_enumerate(int fail_errno, perfstat_id_t *name, void *userbuff, int size,
                       int expected, int desired, const void *items, int count)
{
    perfstat_fake.calls++;
    if (fail_errno) {
        errno = fail_errno;
        return -1;
    }
    if (size != expected || desired < 0) {
        errno = EINVAL;
        return -1;
    }
    if (!name && !userbuff && desired == 0)
        return count;
    if (!name || !userbuff) {
        errno = EINVAL;
        return -1;
    }
    const char *base = items;
    int first = 0;
    if (name->name[0]) {
        while (first < count && strcmp(base + (size_t) first * (size_t) size, name->name) != 0)
            first++;
        if (first == count) {
            errno = EINVAL;
            return -1;
        }
    }
    int filled = count - first < desired ? count - first : desired;
    memcpy(userbuff, base + (size_t) first * (size_t) size, (size_t) filled * (size_t) size);
    int next = first + filled;
    strcpy(name->name, next < count ? base + (size_t) next * (size_t) size : "");
    return filled;
}

int perfstat_disk(perfstat_id_t *name, perfstat_disk_t *userbuff, int sizeof_userbuff,
                  int desired_number)
{
    return s_enumerate(perfstat_fake.disk_errno, name, userbuff, sizeof_userbuff,
                       (int) sizeof(perfstat_disk_t), desired_number, perfstat_fake.disks,
                       perfstat_fake.disk_count);
}

int perfstat_netinterface(perfstat_id_t *name, perfstat_netinterface_t *userbuff,
                          int sizeof_userbuff, int desired_number)
{
    return s_enumerate(perfstat_fake.net_errno, name, userbuff, sizeof_userbuff,
                       (int) sizeof(perfstat_netinterface_t), desired_number, perfstat_fake.nets,
                       perfstat_fake.net_count);
}
