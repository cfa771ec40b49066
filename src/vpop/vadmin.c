/* SPDX-License-Identifier: ISC */
/*
 * vadmin - domains and accounts added and removed (see vadmin.h for the
 * order of the steps and why each state between them is harmless).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "rcptmap.h"
#include "secret.h"
#include "readfile.h"
#include "vadmin.h"
#include "vassign.h"
#include "vcontrol.h"
#include "vfs.h"
#include "vpass.h"
#include "vscram.h"
#include "vrcpt.h"

#define ASSIGN "users/assign"
#define ASSIGN_MAX (1u << 30)
#define VDOMAIN_NAME_MAX 96  /* vpopmail's MAX_PW_DOMAIN */
#define VDIR_MAX 160         /* vpopmail's MAX_PW_DIR */

/* say - v->err = the words of a failure, errno's text appended. */
static int
say(struct vadmin *v, int code, const char *what, const char *arg)
{
    int e = errno;

    bstr_truncate(&v->err, 0);
    if (bstr_catf(&v->err, "%s%s%s", what, arg ? " " : "", arg ? arg : "") ==
            -1 ||
        (e && bstr_catf(&v->err, ": %s", strerror(e)) == -1))
        bstr_truncate(&v->err, 0);
    errno = e;
    return code;
}

/* say_store - the store's own words (vauth's a->err). */
static int
say_store(struct vadmin *v, int code)
{
    bstr_truncate(&v->err, 0);
    if (bstr_copy(&v->err, &v->auth.err) == -1)
        bstr_truncate(&v->err, 0);
    return code;
}

static void
lower(struct bstr *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->s[i] >= 'A' && b->s[i] <= 'Z')
            b->s[i] = (char)(b->s[i] - 'A' + 'a');
}

/*
 * vadmin_open - the settings and the store, for a tool whose cwd is
 * $QMAIL_HOME; an interrupted domain change is finished first.  0, or -1
 * with errno and *badfile saying what could not be read.
 */
int
vadmin_open(struct vadmin *v, const char **badfile)
{
    struct stat st;

    v->lockfd = -1;
    v->err = (struct bstr)BSTR_INIT;
    if (vconf_load(&v->conf, badfile) == -1)
        return -1;
    if (vauth_init(&v->auth, &v->conf) == -1) {
        vconf_free(&v->conf);
        return -1;
    }
    if (stat(VADMIN_INTENT, &st) == 0 && vadmin_recover(v) != VA_SUCCESS) {
        *badfile = VADMIN_INTENT;
        errno = EIO;
        vadmin_close(v);
        return -1;
    }
    return 0;
}

void
vadmin_close(struct vadmin *v)
{
    vctl_unlock(v->lockfd);
    v->lockfd = -1;
    vauth_close(&v->auth);
    vconf_free(&v->conf);
    bstr_free(&v->err);
}

/* lock - users/assign.lock, once per process. */
static int
lock(struct vadmin *v)
{
    if (v->lockfd != -1)
        return 0;
    return vctl_lock(&v->lockfd);
}

/*
 * vadmin_parse_email - vpopmail's split of an address: the user is what
 * comes before the first '@', '%' or '/', the domain what follows (or,
 * when there is none, the one in ~vpopmail/etc/defaultdomain); both
 * lower case.  VA_SUCCESS, or VA_DOMAIN_DOES_NOT_EXIST (no domain at
 * all), VA_MEMORY_ALLOC_ERR.
 */
int
vadmin_parse_email(const char *email, struct bstr *user, struct bstr *domain,
                   const struct vconf *c)
{
    size_t n = strcspn(email, "@%/");
    struct bstr p = BSTR_INIT;
    int r;

    if (bstr_copyb(user, email, n) == -1)
        return VA_MEMORY_ALLOC_ERR;
    lower(user);
    if (email[n]) {
        if (bstr_copys(domain, email + n + 1) == -1)
            return VA_MEMORY_ALLOC_ERR;
        lower(domain);
        return VA_SUCCESS;
    }
    if (bstr_catf(&p, "%s/etc/defaultdomain", c->home.s) == -1)
        return VA_MEMORY_ALLOC_ERR;
    bstr_truncate(domain, 0);
    r = readfile_path(p.s, domain, 4096);
    bstr_free(&p);
    while (domain->len && (domain->s[domain->len - 1] == '\n' ||
                           domain->s[domain->len - 1] == ' '))
        bstr_truncate(domain, domain->len - 1);
    if (r != 1 || domain->len == 0 || memchr(domain->s, '\n', domain->len))
        return VA_DOMAIN_DOES_NOT_EXIST;
    lower(domain);
    return VA_SUCCESS;
}

/* ---- domains ---------------------------------------------------------- */

/* read_assign - users/assign (none: empty). */
static int
read_assign(struct bstr *text)
{
    int r = readfile_path(ASSIGN, text, ASSIGN_MAX);

    return r == -1 ? -1 : 0;
}

/* newu - users/cdb from users/assign, by qmail-newu. */
static int
newu(struct vadmin *v)
{
    struct bstr prog = BSTR_INIT, words = BSTR_INIT;
    int r;

    if (bstr_catf(&prog, "%s/bin/qmail-newu", v->conf.qmailhome.s) == -1)
        return -1;
    r = vctl_run(prog.s, &words);
    if (r == -1) {
        bstr_truncate(&v->err, 0);
        if (bstr_catf(&v->err, "qmail-newu failed: %.*s", (int)words.len,
                      words.s ? words.s : "") == -1)
            bstr_truncate(&v->err, 0);
        errno = 0;
    }
    bstr_free(&prog);
    bstr_free(&words);
    return r;
}

/* assign_change - users/assign with domain's line set (dir != NULL) or
 * removed, then qmail-newu.  *changed: the file was rewritten. */
static int
assign_change(struct vadmin *v, const char *domain, const char *real,
              const char *dir, uid_t uid, gid_t gid)
{
    struct bstr text = BSTR_INIT, out = BSTR_INIT;
    int r = -1;

    if (read_assign(&text) == -1) {
        say(v, 0, "unable to read", ASSIGN);
        goto out;
    }
    if (dir) {
        if (vassign_set_alias(text.s ? text.s : "", text.len, domain, real,
                              uid, gid, dir, &out) == -1) {
            say(v, 0, "unable to set the line of", domain);
            goto out;
        }
    } else if (vassign_del(text.s ? text.s : "", text.len, domain, &out) ==
               -1) {
        if (errno != ENOENT) {
            say(v, 0, "unable to remove the line of", domain);
            goto out;
        }
        /* no line; but a users/cdb older than users/assign may still
         * hold it (qmail-newu not run after a hand edit or a crash) */
        {
            struct vdomain d;
            int f = vdomain_find(domain, strlen(domain), &d);

            if (f == 1)
                vdomain_free(&d);
            r = f == 0 ? 0 : newu(v);
        }
        goto out;
    }
    if (vctl_replace(ASSIGN, &out) == -1) {
        say(v, 0, "unable to write", ASSIGN);
        goto out;
    }
    r = newu(v);
out:
    bstr_free(&text);
    bstr_free(&out);
    return r;
}

/* rcpthosts_set - the domain in rcpthosts, or in morercpthosts (and its
 * cdb) once rcpthosts holds VCTL_RCPTHOSTS_MAX, as vpopmail; or out of
 * both. */
static int
rcpthosts_set(struct vadmin *v, const char *domain, bool present)
{
    bool changed;
    size_t n;
    struct stat st;

    if (present) {
        if (vctl_list_count("control/rcpthosts", &n) == -1)
            return say(v, -1, "unable to read", "control/rcpthosts");
        if (n < VCTL_RCPTHOSTS_MAX) {
            if (vctl_list_set("control/rcpthosts", domain, true, &changed) ==
                -1)
                return say(v, -1, "unable to write", "control/rcpthosts");
            return 0;
        }
        if (vctl_list_set("control/morercpthosts", domain, true, &changed) ==
                -1 ||
            vctl_list_compile("control/morercpthosts",
                              "control/morercpthosts.cdb") == -1)
            return say(v, -1, "unable to write", "control/morercpthosts");
        return 0;
    }
    if (vctl_list_set("control/rcpthosts", domain, false, &changed) == -1)
        return say(v, -1, "unable to write", "control/rcpthosts");
    if (vctl_list_set("control/morercpthosts", domain, false, &changed) == -1)
        return say(v, -1, "unable to write", "control/morercpthosts");
    if (!changed)
        return 0;
    if (vctl_list_count("control/morercpthosts", &n) == -1)
        return say(v, -1, "unable to read", "control/morercpthosts");
    if (n == 0 && stat("control/morercpthosts", &st) == 0 && st.st_size == 0) {
        if (unlink("control/morercpthosts") == -1 ||
            (unlink("control/morercpthosts.cdb") == -1 && errno != ENOENT))
            return say(v, -1, "unable to remove", "control/morercpthosts");
        return 0;
    }
    if (vctl_list_compile("control/morercpthosts",
                          "control/morercpthosts.cdb") == -1)
        return say(v, -1, "unable to compile", "control/morercpthosts");
    return 0;
}

/* virtualdomains_set - "DOMAIN:DOMAIN" in control/virtualdomains. */
static int
virtualdomains_set(struct vadmin *v, const char *domain, bool present)
{
    struct bstr line = BSTR_INIT;
    bool changed;
    int r;

    if (bstr_catf(&line, "%s:%s", domain, domain) == -1)
        return say(v, -1, "no memory", NULL);
    r = vctl_list_set("control/virtualdomains", line.s, present, &changed);
    bstr_free(&line);
    if (r == -1)
        return say(v, -1, "unable to write", "control/virtualdomains");
    if (present &&
        vctl_list_set("control/locals", domain, false, &changed) == -1)
        return say(v, -1, "unable to write", "control/locals");
    return 0;
}

static int
write_intent(struct vadmin *v, const char *verb, const char *a, const char *b)
{
    struct bstr t = BSTR_INIT;
    int r;

    if (bstr_catf(&t, "%s %s %s\n", verb, a, b) == -1)
        return say(v, -1, "no memory", NULL);
    r = atomicfile_write(VADMIN_INTENT, t.s, t.len, 0600, ATOMICFILE_KEEP,
                         (gid_t)-1);
    bstr_free(&t);
    return r == -1 ? say(v, -1, "unable to write", VADMIN_INTENT) : 0;
}

static int
clear_intent(struct vadmin *v)
{
    if (unlink(VADMIN_INTENT) == -1 && errno != ENOENT)
        return say(v, -1, "unable to remove", VADMIN_INTENT);
    return atomicfile_syncdir("users") == -1
               ? say(v, -1, "unable to sync", "users")
               : 0;
}

/* dir_of_domain - is dir BASE/domains/NAME for the domain name? (A
 * directory is removed only when it has that shape.) */
static bool
dir_of_domain(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);

    return dir[0] == '/' && dl > nl + 9 &&
           memcmp(dir + dl - nl - 9, "/domains/", 9) == 0 &&
           memcmp(dir + dl - nl, name, nl) == 0 && !strstr(dir, "/../") &&
           !strstr(dir, "/./");
}

/* leftovers - what a crashed tool left beside dir (its parent's
 * entries .NAME.new.PID and .NAME.del.PID) removed. */
static void
leftovers(const char *dir, const char *name)
{
    struct bstr parent = BSTR_INIT, p = BSTR_INIT, pre[2] = {BSTR_INIT,
                                                          BSTR_INIT};
    const char *slash = strrchr(dir, '/');
    DIR *d = NULL;
    struct dirent *de;

    if (!slash || bstr_copyb(&parent, dir, (size_t)(slash - dir)) == -1 ||
        bstr_catf(&pre[0], ".%s.new.", name) == -1 ||
        bstr_catf(&pre[1], ".%s.del.", name) == -1)
        goto out;
    d = opendir(parent.len ? parent.s : "/");
    while (d && (de = readdir(d))) {
        for (int k = 0; k < 2; k++) {
            if (strncmp(de->d_name, pre[k].s, pre[k].len) != 0)
                continue;
            bstr_truncate(&p, 0);
            if (bstr_catf(&p, "%s/%s", parent.s, de->d_name) == 0 &&
                vfs_rmtree(p.s) == -1)
                continue; /* best effort: the next recovery tries again */
        }
    }
out:
    if (d)
        closedir(d);
    bstr_free(&parent);
    bstr_free(&p);
    bstr_free(&pre[0]);
    bstr_free(&pre[1]);
}

/* drop_dir - dir renamed out of the way (so nothing finds half of it),
 * then removed. */
static int
drop_dir(struct vadmin *v, const char *dir, const char *name)
{
    struct bstr tmp = BSTR_INIT;
    const char *slash = strrchr(dir, '/');
    struct stat st;
    int r = 0;

    if (lstat(dir, &st) == -1)
        return errno == ENOENT ? 0 : say(v, -1, "unable to look at", dir);
    if (!slash || bstr_catf(&tmp, "%.*s/.%s.del.%ld", (int)(slash - dir), dir,
                            name, (long)getpid()) == -1)
        return say(v, -1, "no memory", NULL);
    if (rename(dir, tmp.s) == -1)
        r = say(v, -1, "unable to move away", dir);
    else if (vfs_rmtree(tmp.s) == -1)
        r = say(v, -1, "unable to remove", tmp.s);
    bstr_free(&tmp);
    return r;
}

/* overquota_clear - every users/overquota/USER@domain flag removed. */
static void
overquota_clear(const char *domain)
{
    DIR *d = opendir(RCPTMAP_OVERQUOTA_DIR);
    struct dirent *de;
    struct bstr p = BSTR_INIT;
    size_t dl = strlen(domain);

    while (d && (de = readdir(d))) {
        const char *at = strrchr(de->d_name, '@');

        if (!at || strlen(at + 1) != dl || memcmp(at + 1, domain, dl) != 0)
            continue;
        bstr_truncate(&p, 0);
        if (bstr_catf(&p, "%s/%s", RCPTMAP_OVERQUOTA_DIR, de->d_name) == 0)
            (void)unlink(p.s);
    }
    if (d)
        closedir(d);
    bstr_free(&p);
}

/*
 * unpublish - the steps of an add, backwards, for one name (a domain or
 * an alias of one): out of rcpthosts, virtualdomains, the recipient
 * maps and users/assign.  Each step is idempotent.
 */
static int
unpublish(struct vadmin *v, const char *name)
{
    if (rcpthosts_set(v, name, false) == -1 ||
        virtualdomains_set(v, name, false) == -1)
        return -1;
    if (rcptmap_remove(v->conf.qmailhome.s, name) == -1)
        return say(v, -1, "unable to remove the recipient map of", name);
    return assign_change(v, name, NULL, NULL, 0, 0);
}

/*
 * remove_domain - name wholly gone: its aliases, its lines, its
 * accounts in the store and its directory (dir, when it has the shape
 * BASE/domains/NAME; NULL: from users/assign).  Under the lock.
 */
static int
remove_domain(struct vadmin *v, const char *name, const char *dir)
{
    struct bstr text = BSTR_INIT, real = BSTR_INIT, ddir = BSTR_INIT;
    struct vassign_line l;
    size_t pos = 0;
    bool alias = false;
    int r = -1;

    if (read_assign(&text) == -1) {
        say(v, 0, "unable to read", ASSIGN);
        goto out;
    }
    /* what the line says: an alias (REAL differs) or a domain's dir */
    while (vassign_next(text.s ? text.s : "", text.len, &pos, &l) == 1) {
        if (l.domainlen == strlen(name) &&
            memcmp(l.domain, name, l.domainlen) == 0) {
            alias = l.reallen != l.domainlen ||
                    memcmp(l.real, name, l.reallen) != 0;
            if (!dir && bstr_copyb(&ddir, l.dir, l.dirlen) == -1)
                goto out;
        }
    }
    if (alias) {
        r = unpublish(v, name);
        goto out;
    }
    /* a domain takes its aliases with it, as vpopmail's vdeldomain */
    for (;;) {
        bool found = false;

        pos = 0;
        while (vassign_next(text.s ? text.s : "", text.len, &pos, &l) == 1) {
            if (l.reallen == strlen(name) &&
                memcmp(l.real, name, l.reallen) == 0 &&
                (l.domainlen != l.reallen ||
                 memcmp(l.domain, name, l.domainlen) != 0)) {
                if (bstr_copyb(&real, l.domain, l.domainlen) == -1)
                    goto out;
                found = true;
                break;
            }
        }
        if (!found)
            break;
        if (unpublish(v, real.s) == -1 || read_assign(&text) == -1)
            goto out;
    }
    if (unpublish(v, name) == -1)
        goto out;
    if (vctl_reload() == -1)
        say(v, 0, "unable to tell qmail-send", NULL); /* not fatal */
    if (v->conf.backend != VCONF_CDB) {
        struct vdomain d = {BSTR_INIT, BSTR_INIT, BSTR_INIT, 0, 0};

        if (bstr_copys(&d.name, name) == -1 || bstr_copys(&d.real, name) == -1 ||
            bstr_copys(&d.dir, dir ? dir : ddir.s ? ddir.s : "") == -1 ||
            vauth_deldomain(&v->auth, &d) == -1) {
            vdomain_free(&d);
            say_store(v, 0);
            goto out;
        }
        vdomain_free(&d);
    }
    overquota_clear(name);
    if (!dir)
        dir = ddir.s;
    if (dir && dir_of_domain(dir, name)) {
        if (drop_dir(v, dir, name) == -1)
            goto out;
        leftovers(dir, name);
    }
    r = 0;
out:
    bstr_free(&text);
    bstr_free(&real);
    bstr_free(&ddir);
    return r;
}

/*
 * vadmin_recover - finish the domain change a crashed tool left in
 * users/vdomain.intent: the domain it names is removed (an add undone,
 * a delete completed).  VA_SUCCESS, or VA_COULD_NOT_UPDATE_FILE.
 */
int
vadmin_recover(struct vadmin *v)
{
    struct bstr t = BSTR_INIT;
    char verb[8], name[VDOMAIN_NAME_MAX + 1], dir[4096];
    int r;

    if (lock(v) == -1)
        return say(v, VA_COULD_NOT_UPDATE_FILE, "unable to lock", VCTL_LOCK);
    r = readfile_path(VADMIN_INTENT, &t, 8192);
    if (r == 0) {
        bstr_free(&t);
        return VA_SUCCESS; /* another tool finished it */
    }
    if (r == -1 || !t.s ||
        sscanf(t.s, "%7s %96s %4095s", verb, name, dir) != 3 ||
        !vdomain_name_ok(name, strlen(name))) {
        bstr_free(&t);
        return say(v, VA_COULD_NOT_UPDATE_FILE, "unreadable", VADMIN_INTENT);
    }
    bstr_free(&t);
    if (remove_domain(v, name, strcmp(verb, "alias") == 0 ? NULL : dir) ==
            -1 ||
        clear_intent(v) == -1)
        return VA_COULD_NOT_UPDATE_FILE;
    return VA_SUCCESS;
}

/* undo - a half-made domain or alias removed again, keeping the words
 * of what went wrong (the intent file stays if this fails too, for the
 * next tool's recovery). */
static void
undo(struct vadmin *v, const char *name, const char *dir)
{
    struct bstr keep = v->err;

    v->err = (struct bstr)BSTR_INIT;
    if (remove_domain(v, name, dir) == 0 && clear_intent(v) == 0) {
        /* back to the state before the tool ran */
    }
    bstr_free(&v->err);
    v->err = keep;
}

/* check_domain_name - vadddomain's rules, as vpopmail's numbers. */
static int
check_domain_name(const struct bstr *d)
{
    if (d->len < 3)
        return VA_INVALID_DOMAIN_NAME;
    if (d->len > VDOMAIN_NAME_MAX)
        return VA_DOMAIN_NAME_TOO_LONG;
    if (!vdomain_name_ok(d->s, d->len))
        return VA_INVALID_DOMAIN_NAME;
    return VA_SUCCESS;
}

/* exists - is name a domain (or alias) already?  1, 0, -1. */
static int
exists(const char *name)
{
    struct bstr text = BSTR_INIT, line = BSTR_INIT;
    struct vdomain d;
    int r = vdomain_find(name, strlen(name), &d);

    if (r == 1) {
        vdomain_free(&d);
        return 1;
    }
    if (r == -1)
        return -1;
    /* users/assign ahead of users/cdb (qmail-newu not run) counts too */
    if (read_assign(&text) == -1)
        return -1;
    r = vassign_find(text.s ? text.s : "", text.len, name, &line);
    bstr_free(&text);
    bstr_free(&line);
    return r;
}

/* write_file - a small file, mode 600, the domain's owner. */
static int
write_file(const char *path, const char *text, uid_t uid, gid_t gid,
           bool chown_it)
{
    return atomicfile_write(path, text, strlen(text), 0600,
                            chown_it ? uid : ATOMICFILE_KEEP,
                            chown_it ? gid : (gid_t)-1);
}

/* build_dir - the domain's directory, built at tmp and renamed to dir:
 * .qmail-default and the postmaster's directory. */
static int
build_dir(struct vadmin *v, const char *tmp, const char *dir,
          const char *instruction, uid_t uid, gid_t gid)
{
    struct bstr p = BSTR_INIT, line = BSTR_INIT;
    bool own = v->conf.root;
    int r = -1;

    if (vfs_mkdir(tmp, 0700, uid, gid, own) == -1) {
        say(v, 0, "unable to make", tmp);
        goto out;
    }
    if (bstr_catf(&p, "%s/.qmail-default", tmp) == -1 ||
        bstr_catf(&line, "| %s/bin/vdelivermail '' %s\n",
                  v->conf.qmailhome.s, instruction) == -1 ||
        write_file(p.s, line.s, uid, gid, own) == -1) {
        say(v, 0, "unable to write", p.s);
        goto out;
    }
    bstr_truncate(&p, 0);
    if (bstr_catf(&p, "%s/postmaster", tmp) == -1 ||
        vfs_mkdir(p.s, 0700, uid, gid, own) == -1 ||
        vfs_maildir(p.s, uid, gid, own) == -1) {
        say(v, 0, "unable to make", p.s);
        goto out;
    }
    if (rename(tmp, dir) == -1) {
        say(v, 0, "unable to rename to", dir);
        goto out;
    }
    r = 0;
out:
    bstr_free(&p);
    bstr_free(&line);
    return r;
}

/* map_dirs - users/rcptmap and users/overquota, 755, vpopmail's (the
 * account tools, run as vpopmail, rebuild maps; vdelivermail raises
 * flags), made when missing. */
static int
map_dirs(struct vadmin *v)
{
    if (vfs_mkdir(RCPTMAP_DIR, 0755, v->conf.uid, v->conf.gid,
                  v->conf.root) == -1)
        return say(v, -1, "unable to make", RCPTMAP_DIR);
    if (vfs_mkdir(RCPTMAP_OVERQUOTA_DIR, 0755, v->conf.uid, v->conf.gid,
                  v->conf.root) == -1)
        return say(v, -1, "unable to make", RCPTMAP_OVERQUOTA_DIR);
    return 0;
}

/* publish - a domain (or alias) name made known to the mail system, in
 * the order that keeps every state between harmless. */
static int
publish(struct vadmin *v, struct vdomain *d)
{
    if (map_dirs(v) == -1)
        return -1;
    if (assign_change(v, d->name.s, d->real.s, d->dir.s, d->uid, d->gid) ==
            -1 ||
        virtualdomains_set(v, d->name.s, true) == -1)
        return -1;
    if (vrcpt_build(&v->auth, d, v->conf.qmailhome.s) == -1)
        return say(v, -1, "unable to build the recipient map of", d->name.s);
    if (rcpthosts_set(v, d->name.s, true) == -1)
        return -1;
    if (vctl_reload() == -1)
        say(v, 0, "unable to tell qmail-send", NULL); /* it rereads at HUP */
    return 0;
}

/* dupstr - a copy into *dst the vpw owns; 0 or -1. */
static int
dupstr(char **dst, const char *src)
{
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

/*
 * account - a new account's vpasswd entry (owned: vpw_free it) for name
 * in dir: the password hashed (o->clear) or as given (o->crypted) or
 * none, vpopmail's uid field (1: POP), no flags, NOQUOTA unless given.
 */
static int
account(struct vadmin *v, const char *name, const char *dir,
        const struct vadmin_user *o, struct vpw *pw)
{
    int keep;

    memset(pw, 0, sizeof *pw);
    if (dupstr(&pw->name, name) == -1 ||
        dupstr(&pw->passwd, o->crypted ? o->crypted : "") == -1 ||
        dupstr(&pw->gecos, o->gecos && *o->gecos ? o->gecos : name) == -1 ||
        dupstr(&pw->dir, dir) == -1 ||
        dupstr(&pw->quota, o->quota ? o->quota : "NOQUOTA") == -1) {
        vpw_free(pw);
        return VA_MEMORY_ALLOC_ERR;
    }
    pw->uid = o->apop;
    if (o->crypted || !o->clear || !*o->clear)
        return VA_SUCCESS;
    keep = vpass_keepclear();
    if (keep == -1 || vpass_set(pw, o->clear, keep == 1) == -1) {
        vpw_free(pw);
        return say(v, keep == -1 ? VA_COULD_NOT_UPDATE_FILE : VA_CRYPT_FAILED,
                   keep == -1 ? "unable to read" : "unable to hash the "
                                                   "password of",
                   keep == -1 ? VPASS_CLEAR_CONTROL : name);
    }
    return VA_SUCCESS;
}

/*
 * scram - the SCRAM-SHA-256 keys of pw's new password clear (empty or
 * NULL: none), beside its hash where the store keeps them (vscram_store:
 * vscram.cdb, or PostgreSQL's vpopmail_scram, so every host of a fleet
 * sees them).  A failure costs SCRAM logins of this account, not the
 * account: it is reported in v->err, not as an error.
 */
static void
scram(struct vadmin *v, const struct vdomain *d, const struct vpw *pw,
      const char *clear)
{
    struct scram_keys k;
    int r;

    if (!clear || !*clear)
        r = vscram_store(&v->auth, d, pw->name, NULL, NULL, 30);
    else
        r = vpass_scram_keys(clear, strlen(clear), &k) == -1
                ? -1
                : vscram_store(&v->auth, d, pw->name, &k, pw->passwd, 30);
    explicit_bzero(&k, sizeof k);
    if (r == -1)
        say(v, 0, "unable to store the SCRAM keys of", pw->name);
}

/*
 * vadmin_user_password - pw (an entry of d, owned) gets the password
 * clear (empty: none): its hash, its clear text where control/
 * vpopclearpasswd keeps them (else none: an old clear text must not
 * outlive its password), and its SCRAM keys; then written as
 * vadmin_user_set writes it.  VA_*.
 */
int
vadmin_user_password(struct vadmin *v, const struct vdomain *d,
                     struct vpw *pw, const char *clear, bool quota_changed)
{
    int keep;

    if (!clear || !*clear) {
        free(pw->passwd);
        secret_free(pw->clear);
        pw->clear = NULL;
        if (dupstr(&pw->passwd, "") == -1)
            return VA_MEMORY_ALLOC_ERR;
    } else {
        keep = vpass_keepclear();
        if (keep == -1)
            return say(v, VA_COULD_NOT_UPDATE_FILE, "unable to read",
                       VPASS_CLEAR_CONTROL);
        if (vpass_set(pw, clear, keep == 1) == -1)
            return VA_CRYPT_FAILED;
    }
    /* the keys first: they live in the domain's directory, whose mtime
     * the recipient map (rebuilt by vadmin_user_set) records; keys made
     * for a hash that does not get written are never used (vscram.h) */
    scram(v, d, pw, clear);
    return vadmin_user_set(v, d, pw, quota_changed);
}

/*
 * vadmin_domain_add - a new virtual domain with its postmaster account
 * (its password in clear in pm->clear, or a hash in pm->crypted).
 * VA_SUCCESS or vpopmail's error number.
 */
int
vadmin_domain_add(struct vadmin *v, const char *domain,
                  const struct vadmin_domain *o,
                  const struct vadmin_user *pm)
{
    struct bstr pmdir = BSTR_INIT;
    struct vpw pw = {0};
    struct vdomain d = {BSTR_INIT, BSTR_INIT, BSTR_INIT, 0, 0};
    struct bstr base = BSTR_INIT, domains = BSTR_INIT, tmp = BSTR_INIT;
    int code, r;

    if (bstr_copys(&d.name, domain) == -1)
        return VA_MEMORY_ALLOC_ERR;
    lower(&d.name);
    code = check_domain_name(&d.name);
    if (code != VA_SUCCESS)
        goto out;
    code = VA_COULD_NOT_UPDATE_FILE;
    if (lock(v) == -1) {
        say(v, 0, "unable to lock", VCTL_LOCK);
        goto out;
    }
    if (vadmin_recover(v) != VA_SUCCESS)
        goto out;
    r = exists(d.name.s);
    if (r != 0) {
        if (r == -1)
            say(v, 0, "unable to read", "users/assign or users/cdb");
        else
            code = VA_DOMAIN_ALREADY_EXISTS;
        goto out;
    }
    d.uid = o->ids ? o->uid : v->conf.uid;
    d.gid = o->ids ? o->gid : v->conf.gid;
    if (bstr_copys(&base, o->base ? o->base : v->conf.home.s) == -1 ||
        bstr_catf(&domains, "%s/domains", base.s) == -1 ||
        bstr_catf(&d.dir, "%s/%s", domains.s, d.name.s) == -1 ||
        bstr_catf(&tmp, "%s/.%s.new.%ld", domains.s, d.name.s,
                  (long)getpid()) == -1 ||
        bstr_copy(&d.real, &d.name) == -1) {
        code = VA_MEMORY_ALLOC_ERR;
        goto out;
    }
    if (d.dir.len > VDIR_MAX) {
        code = VA_DIR_TOO_LONG;
        goto out;
    }
    /* 711: qmail-smtpd may look at a domain's directory's mtime (is the
     * recipient map stale?) but not inside it */
    if (vfs_mkdir(domains.s, 0711, v->conf.uid, v->conf.gid,
                  v->conf.root) == -1) {
        say(v, 0, "unable to make", domains.s);
        code = VA_CAN_NOT_MAKE_DOMAINS_DIR;
        goto out;
    }
    {
        struct stat st;

        if (lstat(d.dir.s, &st) == 0) {
            errno = EEXIST;
            say(v, 0, "already there:", d.dir.s);
            code = VA_COULD_NOT_MAKE_DOMAIN_DIR;
            goto out;
        }
    }
    if (write_intent(v, "add", d.name.s, d.dir.s) == -1)
        goto out;
    if (build_dir(v, tmp.s, d.dir.s,
                  o->catchall ? o->catchall : "bounce-no-mailbox", d.uid,
                  d.gid) == -1 ||
        atomicfile_syncdir(domains.s) == -1) {
        code = VA_COULD_NOT_MAKE_DOMAIN_DIR;
        goto undo;
    }
    if (bstr_catf(&pmdir, "%s/postmaster", d.dir.s) == -1) {
        code = VA_MEMORY_ALLOC_ERR;
        goto undo;
    }
    code = account(v, "postmaster", pmdir.s, pm, &pw);
    if (code != VA_SUCCESS)
        goto undo;
    if (vauth_adduser(&v->auth, &d, &pw) == -1) {
        code = say_store(v, VA_NO_AUTH_CONNECTION);
        goto undo;
    }
    scram(v, &d, &pw, pm->crypted ? NULL : pm->clear);
    code = VA_COULD_NOT_UPDATE_FILE;
    if (publish(v, &d) == -1)
        goto undo;
    if (clear_intent(v) == -1)
        goto out;
    code = VA_SUCCESS;
    goto out;
undo:
    if (vfs_rmtree(tmp.s) == -1) {
        /* left for remove_domain's leftovers() below */
    }
    undo(v, d.name.s, d.dir.s);
out:
    vdomain_free(&d);
    bstr_free(&base);
    bstr_free(&domains);
    bstr_free(&tmp);
    bstr_free(&pmdir);
    vpw_free(&pw);
    return code;
}

/* vadmin_domain_del - a domain (and its aliases) or an alias removed. */
int
vadmin_domain_del(struct vadmin *v, const char *domain)
{
    struct vdomain d;
    struct bstr name = BSTR_INIT;
    int r, code = VA_COULD_NOT_UPDATE_FILE;

    if (bstr_copys(&name, domain) == -1)
        return VA_MEMORY_ALLOC_ERR;
    lower(&name);
    if (name.len > VDOMAIN_NAME_MAX) {
        bstr_free(&name);
        return VA_DOMAIN_NAME_TOO_LONG;
    }
    if (lock(v) == -1) {
        bstr_free(&name);
        return say(v, code, "unable to lock", VCTL_LOCK);
    }
    if (vadmin_recover(v) != VA_SUCCESS) {
        bstr_free(&name);
        return code;
    }
    r = vdomain_find(name.s, name.len, &d);
    if (r != 1) {
        bstr_free(&name);
        return r == 0 ? VA_DOMAIN_DOES_NOT_EXIST
                      : say(v, code, "unable to read", "users/cdb");
    }
    if (write_intent(v, vdomain_is_alias(&d) ? "alias" : "del", d.name.s,
                     d.dir.s) == 0 &&
        remove_domain(v, d.name.s, vdomain_is_alias(&d) ? NULL : d.dir.s) ==
            0 &&
        clear_intent(v) == 0)
        code = VA_SUCCESS;
    vdomain_free(&d);
    bstr_free(&name);
    return code;
}

/* vadmin_alias_add - alias made another name of the domain real. */
int
vadmin_alias_add(struct vadmin *v, const char *alias, const char *real)
{
    struct vdomain d = {BSTR_INIT, BSTR_INIT, BSTR_INIT, 0, 0}, r;
    struct bstr rn = BSTR_INIT;
    int found, code;

    if (bstr_copys(&d.name, alias) == -1 || bstr_copys(&rn, real) == -1)
        return VA_MEMORY_ALLOC_ERR;
    lower(&d.name);
    lower(&rn);
    code = check_domain_name(&d.name);
    if (code != VA_SUCCESS)
        goto out;
    code = VA_COULD_NOT_UPDATE_FILE;
    if (lock(v) == -1) {
        say(v, 0, "unable to lock", VCTL_LOCK);
        goto out;
    }
    if (vadmin_recover(v) != VA_SUCCESS)
        goto out;
    found = vdomain_find(rn.s, rn.len, &r);
    if (found != 1) {
        code = found == 0 ? VA_DOMAIN_DOES_NOT_EXIST : code;
        goto out;
    }
    /* an alias of an alias stands for the real domain */
    if (bstr_copy(&d.real, &r.real) == -1 || bstr_copy(&d.dir, &r.dir) == -1) {
        vdomain_free(&r);
        code = VA_MEMORY_ALLOC_ERR;
        goto out;
    }
    d.uid = r.uid;
    d.gid = r.gid;
    vdomain_free(&r);
    found = exists(d.name.s);
    if (found != 0) {
        code = found == 1 ? VA_DOMAIN_ALREADY_EXISTS : code;
        goto out;
    }
    if (write_intent(v, "alias", d.name.s, d.real.s) == -1)
        goto out;
    if (publish(v, &d) == -1) {
        undo(v, d.name.s, NULL);
        goto out;
    }
    if (clear_intent(v) == 0)
        code = VA_SUCCESS;
out:
    vdomain_free(&d);
    bstr_free(&rn);
    return code;
}

/* ---- accounts --------------------------------------------------------- */

/* real_domain - the domain (an alias resolved) as d.  VA_*. */
static int
real_domain(struct vadmin *v, const char *domain, struct vdomain *d)
{
    struct vdomain a;
    int r = vdomain_find(domain, strlen(domain), &a);

    if (r == 0)
        return VA_DOMAIN_DOES_NOT_EXIST;
    if (r == -1)
        return say(v, VA_COULD_NOT_UPDATE_FILE, "unable to read", "users/cdb");
    if (!vdomain_is_alias(&a)) {
        *d = a;
        return VA_SUCCESS;
    }
    r = vdomain_find(a.real.s, a.real.len, d);
    vdomain_free(&a);
    if (r == 1)
        return VA_SUCCESS;
    return r == 0 ? VA_DOMAIN_DOES_NOT_EXIST
                  : say(v, VA_COULD_NOT_UPDATE_FILE, "unable to read",
                        "users/cdb");
}

/* vadmin_rebuild_map - d's recipient map from the store and its files. */
int
vadmin_rebuild_map(struct vadmin *v, const struct vdomain *d)
{
    if (vrcpt_build(&v->auth, d, v->conf.qmailhome.s) == -1)
        return say(v, -1, "unable to rebuild the recipient map of", d->name.s);
    return 0;
}

/*
 * vadmin_find - the account user@domain: VA_SUCCESS (d and pw filled:
 * free both), VA_DOMAIN_DOES_NOT_EXIST, VA_USER_DOES_NOT_EXIST, or
 * VA_NO_AUTH_CONNECTION (the store could not be read).
 */
int
vadmin_find(struct vadmin *v, const char *user, const char *domain,
            struct vdomain *d, struct vpw *pw)
{
    int code = real_domain(v, domain, d), r;

    memset(pw, 0, sizeof *pw);
    if (code != VA_SUCCESS)
        return code;
    r = vauth_getpw(&v->auth, d, user, strlen(user), pw);
    if (r == 1)
        return VA_SUCCESS;
    vdomain_free(d);
    if (r == 0)
        return VA_USER_DOES_NOT_EXIST;
    return say_store(v, VA_NO_AUTH_CONNECTION);
}

/* user_dir - the account's directory, built at a temporary name and
 * renamed into place; one that is there already (left by a crash
 * before its account was written) is kept with what it holds. */
static int
user_dir(struct vadmin *v, const struct vdomain *d, const char *dir,
         const char *name)
{
    struct bstr tmp = BSTR_INIT;
    struct stat st;
    bool own = v->conf.root;
    int r = -1;

    if (lstat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode) &&
            vfs_maildir(dir, d->uid, d->gid, own) == 0)
            return 0;
        return say(v, -1, "not a directory:", dir);
    }
    if (bstr_catf(&tmp, "%s/.%s.new.%ld", d->dir.s, name, (long)getpid()) ==
            -1 ||
        vfs_mkdir(tmp.s, 0700, d->uid, d->gid, own) == -1 ||
        vfs_maildir(tmp.s, d->uid, d->gid, own) == -1 ||
        rename(tmp.s, dir) == -1 || atomicfile_syncdir(d->dir.s) == -1) {
        say(v, 0, "unable to make", dir);
        if (vfs_rmtree(tmp.s) == -1) {
            /* a dot name nothing looks at; vdeldomain removes it */
        }
        goto out;
    }
    r = 0;
out:
    bstr_free(&tmp);
    return r;
}

/*
 * vadmin_user_add - a new account user@domain (an alias domain's user
 * goes to its real domain).  VA_SUCCESS or vpopmail's error number.
 */
int
vadmin_user_add(struct vadmin *v, const char *user, const char *domain,
                const struct vadmin_user *o)
{
    struct vdomain d;
    struct vpw pw = {0}, old;
    struct bstr name = BSTR_INIT, dir = BSTR_INIT;
    int code, r;

    if (bstr_copys(&name, user) == -1)
        return VA_MEMORY_ALLOC_ERR;
    lower(&name);
    if (name.len > VPW_NAME_MAX) {
        bstr_free(&name);
        return VA_USER_NAME_TOO_LONG;
    }
    if (!vpw_name_ok(name.s, name.len)) {
        bstr_free(&name);
        return VA_ILLEGAL_USERNAME;
    }
    code = real_domain(v, domain, &d);
    if (code != VA_SUCCESS) {
        bstr_free(&name);
        return code;
    }
    r = vauth_getpw(&v->auth, &d, name.s, name.len, &old);
    if (r != 0) {
        if (r == 1) {
            vpw_free(&old);
            code = VA_USERNAME_EXISTS;
        } else {
            code = say_store(v, VA_NO_AUTH_CONNECTION);
        }
        goto out;
    }
    if (bstr_catf(&dir, "%s/%s", d.dir.s, name.s) == -1) {
        code = VA_MEMORY_ALLOC_ERR;
        goto out;
    }
    if (dir.len > VDIR_MAX) {
        code = VA_DIR_TOO_LONG;
        goto out;
    }
    code = account(v, name.s, dir.s, o, &pw);
    if (code != VA_SUCCESS)
        goto out;
    if (user_dir(v, &d, dir.s, name.s) == -1) {
        code = VA_BAD_U_DIR;
        goto out;
    }
    if (vauth_adduser(&v->auth, &d, &pw) == -1) {
        code = errno == EEXIST ? VA_USERNAME_EXISTS
               : errno == EINVAL ? VA_BAD_CHAR
                                 : say_store(v, VA_COULD_NOT_UPDATE_FILE);
        goto out;
    }
    scram(v, &d, &pw, o->crypted ? NULL : o->clear);
    code = vadmin_rebuild_map(v, &d) == -1 ? VA_COULD_NOT_UPDATE_FILE
                                           : VA_SUCCESS;
out:
    vdomain_free(&d);
    vpw_free(&pw);
    bstr_free(&name);
    bstr_free(&dir);
    return code;
}

/* under - is path inside dir (dir/..., no ".." step)? */
static bool
under(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1] &&
           !strstr(path + n, "/../") && !strstr(path + n, "/./") &&
           strcmp(path + strlen(path) - 3, "/..") != 0;
}

/* vadmin_user_del - the account user@domain and its directory gone. */
int
vadmin_user_del(struct vadmin *v, const char *user, const char *domain)
{
    struct vdomain d;
    struct vpw pw;
    int code = vadmin_find(v, user, domain, &d, &pw);

    if (code != VA_SUCCESS)
        return code;
    if (vauth_deluser(&v->auth, &d, pw.name) == -1) {
        code = errno == ENOENT ? VA_USER_DOES_NOT_EXIST
                               : say_store(v, VA_COULD_NOT_UPDATE_FILE);
        goto out;
    }
    code = VA_COULD_NOT_UPDATE_FILE;
    scram(v, &d, &pw, NULL);
    if (vadmin_rebuild_map(v, &d) == -1)
        goto out;
    if (rcptmap_overquota_set(v->conf.qmailhome.s, pw.name, d.name.s,
                              false) == -1) {
        /* harmless: the name is unknown now, and a flag ages out */
    }
    /* only a directory inside the domain's is removed; that changes the
     * domain directory's mtime, so the map is made again to match it */
    if (pw.dir && under(pw.dir, d.dir.s) &&
        (drop_dir(v, pw.dir, pw.name) == -1 || vadmin_rebuild_map(v, &d) == -1))
        goto out;
    code = VA_SUCCESS;
out:
    vpw_free(&pw);
    vdomain_free(&d);
    return code;
}

/*
 * vadmin_user_set - the account pw->name of d replaced by pw; with
 * quota_changed, maildirsize goes (the next delivery counts afresh
 * against the new quota) and so does an over-quota flag.
 */
int
vadmin_user_set(struct vadmin *v, const struct vdomain *d,
                const struct vpw *pw, bool quota_changed)
{
    if (vauth_setpw(&v->auth, d, pw) == -1)
        return errno == ENOENT ? VA_USER_DOES_NOT_EXIST
               : errno == EINVAL ? VA_BAD_CHAR
                                 : say_store(v, VA_COULD_NOT_UPDATE_FILE);
    if (vadmin_rebuild_map(v, d) == -1)
        return VA_COULD_NOT_UPDATE_FILE;
    if (quota_changed) {
        struct bstr p = BSTR_INIT;

        if (pw->dir && bstr_catf(&p, "%s/Maildir/maildirsize", pw->dir) == 0 &&
            unlink(p.s) == -1 && errno != ENOENT) {
            say(v, 0, "unable to remove", p.s);
            bstr_free(&p);
            return VA_COULD_NOT_UPDATE_FILE;
        }
        bstr_free(&p);
        if (rcptmap_overquota_set(v->conf.qmailhome.s, pw->name, d->name.s,
                                  false) == -1) {
            /* the flag is trusted RCPTMAP_OVERQUOTA_AGE at most */
        }
    }
    return VA_SUCCESS;
}

/*
 * vadmin_aliases - the alias domains of real (lower case) in
 * users/assign order, each followed by a NUL, into list.  0, or -1.
 */
int
vadmin_aliases(const char *real, struct bstr *list)
{
    struct bstr text = BSTR_INIT;
    struct vassign_line l;
    size_t pos = 0, rl = strlen(real);
    int r = 0;

    bstr_truncate(list, 0);
    if (read_assign(&text) == -1)
        return -1;
    while (r == 0 && vassign_next(text.s ? text.s : "", text.len, &pos, &l) ==
                         1) {
        if (l.reallen != rl || memcmp(l.real, real, rl) != 0 ||
            (l.domainlen == rl && memcmp(l.domain, real, rl) == 0))
            continue;
        if (bstr_catb(list, l.domain, l.domainlen) == -1 ||
            bstr_catc(list, '\0') == -1)
            r = -1;
    }
    bstr_free(&text);
    return r;
}
