/* gdbmdir.c -- GDBM's directory rewritten by the pages that changed
 * (gdbmdir.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gdbmdir.h"

static atomic_int dir_on = 1;
static atomic_size_t dir_min = GDBMDIR_MIN;
static atomic_ulong dir_skipped;

void gdbmdir_tune(int on, size_t min) {
    atomic_store(&dir_on, on);
    atomic_store(&dir_min, min);
}
unsigned long gdbmdir_skipped(void) { return atomic_load(&dir_skipped); }

#if GDBMFIX

#define DIR_PAGE 4096
#define DIR_WATCHED 4 /* handles watched at once */

/* A watched handle, and what it last wrote, whole, as its directory. */
struct kept {
    GDBM_FILE dbf;                /* NULL: a free slot */
    dev_t dev;
    ino_t ino;
    off_t at;
    size_t size;                  /* 0: nothing kept yet */
    char *copy;
};

static pthread_mutex_t dir_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kept dir_kept[DIR_WATCHED]; /* under dir_mu */
static int (*real_write)(GDBM_FILE, void *, size_t);
static pthread_once_t dir_once = PTHREAD_ONCE_INIT;

static void find_real(void) {
    real_write = (int (*)(GDBM_FILE, void *, size_t))dlsym(RTLD_NEXT, "_gdbm_full_write");
    if (real_write == NULL) abort(); /* linked without the libgdbm it replaces */
}

/* kept_of -- dbf's slot, or NULL; dir_mu held. */
static struct kept *kept_of(GDBM_FILE dbf) {
    for (int i = 0; i < DIR_WATCHED; i++)
        if (dir_kept[i].dbf == dbf) return &dir_kept[i];
    return NULL;
}

/* unkeep -- forget what k kept (k stays watched); dir_mu held. */
static void unkeep(struct kept *k) {
    free(k->copy);
    k->copy = NULL;
    k->size = 0;
}

int gdbmdir_watch(GDBM_FILE dbf) {
    struct kept *k;
    pthread_once(&dir_once, find_real);
    pthread_mutex_lock(&dir_mu);
    if ((k = kept_of(dbf)) == NULL) k = kept_of(NULL);
    if (k) {
        unkeep(k);
        k->dbf = dbf;
    }
    pthread_mutex_unlock(&dir_mu);
    return k ? MKV_OK : MKV_ERR;
}

void gdbmdir_forget(GDBM_FILE dbf) {
    struct kept *k;
    if (dbf == NULL) return;
    pthread_mutex_lock(&dir_mu);
    if ((k = kept_of(dbf)) != NULL) {
        unkeep(k);
        k->dbf = NULL;
    }
    pthread_mutex_unlock(&dir_mu);
}

/* is_directory -- would a write of size bytes through dbf be its whole
 * directory? Its file offset is the descriptor's only without mmap. */
static int is_directory(GDBM_FILE dbf, size_t size) {
    int mmap_on = 1, bits = 0;
    if (size < atomic_load(&dir_min)) return 0;
    if (gdbm_setopt(dbf, GDBM_GETMMAP, &mmap_on, sizeof(mmap_on)) != 0 || mmap_on) return 0;
    if (gdbm_setopt(dbf, GDBM_GETDIRDEPTH, &bits, sizeof(bits)) != 0) return 0;
    return bits > 0 && bits < 48 && size == (sizeof(off_t) << bits);
}

/* keep -- k's directory, in the file st, at at, holds buffer now (an
 * allocation that fails keeps nothing); dir_mu held. */
static void keep(struct kept *k, const struct stat *st, off_t at, const void *buffer,
                 size_t size) {
    unkeep(k);
    if ((k->copy = malloc(size)) == NULL) return;
    memcpy(k->copy, buffer, size);
    k->dev = st->st_dev;
    k->ino = st->st_ino;
    k->at = at;
    k->size = size;
}

/* write_changed -- write the pages of buffer that differ from k's copy,
 * at k->at, updating the copy; 0, or -1 when a write failed (the copy is
 * then dropped: what the file holds is not known). dir_mu held. */
static int write_changed(int fd, struct kept *k, const char *buffer) {
    for (size_t off = 0; off < k->size; off += DIR_PAGE) {
        size_t n = k->size - off < DIR_PAGE ? k->size - off : DIR_PAGE;
        if (memcmp(k->copy + off, buffer + off, n) == 0) {
            atomic_fetch_add(&dir_skipped, 1);
            continue;
        }
        for (size_t done = 0; done < n;) {
            ssize_t w = pwrite(fd, buffer + off + done, n - done, k->at + (off_t)(off + done));
            if (w <= 0) {
                unkeep(k);
                return -1;
            }
            done += (size_t)w;
        }
        memcpy(k->copy + off, buffer + off, n);
    }
    return 0;
}

int _gdbm_full_write(GDBM_FILE dbf, void *buffer, size_t size) {
    struct kept *k;
    struct stat st;
    off_t at;
    int fd, rc;

    pthread_once(&dir_once, find_real);
    pthread_mutex_lock(&dir_mu);
    /* Not watched, or nothing kept and too small to be the directory
     * (every write of a small file): as libgdbm does, no look at the file
     * offset. */
    if ((k = kept_of(dbf)) == NULL || (k->size == 0 && size < atomic_load(&dir_min))) {
        pthread_mutex_unlock(&dir_mu);
        return real_write(dbf, buffer, size);
    }
    fd = gdbm_fdesc(dbf);
    at = lseek(fd, 0, SEEK_CUR);
    if (at < 0 || !atomic_load(&dir_on) || !is_directory(dbf, size)) {
        /* Not the directory: a write over the kept region drops it. */
        if (k->size && (at < 0 || (at < k->at + (off_t)k->size && k->at < at + (off_t)size)))
            unkeep(k);
        pthread_mutex_unlock(&dir_mu);
        return real_write(dbf, buffer, size);
    }
    if (fstat(fd, &st) != 0 || k->size != size || k->at != at || k->dev != st.st_dev ||
        k->ino != st.st_ino) {
        /* Written here for the first time (or another file): whole. */
        unkeep(k);
        rc = real_write(dbf, buffer, size);
        if (rc == 0 && fstat(fd, &st) == 0) keep(k, &st, at, buffer, size);
        pthread_mutex_unlock(&dir_mu);
        return rc;
    }
    if (write_changed(fd, k, buffer) != 0 || lseek(fd, at + (off_t)size, SEEK_SET) < 0) {
        /* Whole after all, so that libgdbm reports its own error. */
        unkeep(k);
        pthread_mutex_unlock(&dir_mu);
        if (lseek(fd, at, SEEK_SET) == at) return real_write(dbf, buffer, size);
        return -1;
    }
    pthread_mutex_unlock(&dir_mu);
    return real_write(dbf, buffer, 0); /* what it does besides writing */
}

#else

int gdbmdir_watch(GDBM_FILE dbf) {
    (void)dbf;
    return MKV_ERR;
}

void gdbmdir_forget(GDBM_FILE dbf) { (void)dbf; }

#endif
