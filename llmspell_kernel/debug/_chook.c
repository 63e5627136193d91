/* llmspell debugger: the C hook that filters hook events before hooks.lua sees them.
 *
 * A Lua hook set with debug.sethook costs a Lua call per event; on call-heavy code (millions of
 * calls of functions without breakpoints) that is 20x the run time.  This hook decides the
 * common events in C and hands only the others to hooks.lua:
 *   - call / tail call: a function hooks.lua marked as "nothing to do here" (no breakpoint in
 *     it, no function breakpoint for it, or a C function) is skipped after one lua_getinfo("f");
 *   - return: skipped while the line hook is on (hooks.lua has nothing to change then) or when
 *     the function returned to was marked;
 *   - line: skipped unless some breakpoint is on a line with that number (a bitmap), with a
 *     call of hooks.lua's line function every QUIET skipped events so that it can drop the line
 *     hook in functions without breakpoints;
 *   - a breakpoint whose condition compares a local with a constant (`i == 500`, `s < 0`,
 *     `name ~= "x"`) is evaluated here: a false condition costs no Lua call (hooks.lua decides
 *     which conditions qualify: no hit count, the local must exist, the values of a kind the
 *     comparison needs; anything else goes to hooks.lua, which evaluates it as always);
 *   - everything while a step or a pause is pending, count events and unmarked functions go to
 *     hooks.lua's hook as debug.sethook would deliver them (same event names, same levels).
 *
 * It does not link against Lua: lupa's extension module exports the Lua C API, and init()
 * (called from Python with that module's path) looks the few functions up with dlsym.  Lua
 * reaches the functions below through package.loadlib(<this module>, "llmspell_chook_open").
 * The types are declared here for Lua 5.4 (lupa.lua54); session.py checks the version.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* -- the Lua 5.4 ABI used here ------------------------------------------------------------- */
typedef struct lua_State lua_State;
typedef long long lua_Integer;
typedef intptr_t lua_KContext;
typedef int (*lua_CFunction)(lua_State *L);
typedef int (*lua_KFunction)(lua_State *L, int status, lua_KContext ctx);

#define IDSIZE 60
typedef struct {
    int event;
    const char *name;
    const char *namewhat;
    const char *what;
    const char *source;
    size_t srclen;
    int currentline;
    int linedefined;
    int lastlinedefined;
    unsigned char nups;
    unsigned char nparams;
    char isvararg;
    char istailcall;
    unsigned short ftransfer;
    unsigned short ntransfer;
    char short_src[IDSIZE];
    void *i_ci;
} lua_Debug;
typedef void (*lua_Hook)(lua_State *L, lua_Debug *ar);

#define REGISTRYINDEX (-1000000 - 1000)
#define RIDX_MAINTHREAD 1
#define T_NIL 0
#define T_NUMBER 3
#define T_STRING 4
#define T_FUNCTION 6
#define T_THREAD 8
#define HOOKCALL 0
#define HOOKRET 1
#define HOOKLINE 2
#define HOOKCOUNT 3
#define HOOKTAILCALL 4
#define MASKCALL 1
#define MASKRET 2
#define MASKLINE 4
#define MASKCOUNT 8

static struct {
    void (*sethook)(lua_State *, lua_Hook, int, int);
    int (*gethookmask)(lua_State *);
    int (*getinfo)(lua_State *, const char *, lua_Debug *);
    int (*getstack)(lua_State *, int, lua_Debug *);
    const void *(*topointer)(lua_State *, int);
    void (*settop)(lua_State *, int);
    int (*gettop)(lua_State *);
    int (*rawgetp)(lua_State *, int, const void *);
    void (*rawsetp)(lua_State *, int, const void *);
    int (*rawgeti)(lua_State *, int, lua_Integer);
    void (*rawseti)(lua_State *, int, lua_Integer);
    void *(*touserdata)(lua_State *, int);
    void *(*newuserdatauv)(lua_State *, size_t, int);
    const char *(*pushstring)(lua_State *, const char *);
    void (*pushinteger)(lua_State *, lua_Integer);
    void (*pushnil)(lua_State *);
    void (*pushboolean)(lua_State *, int);
    void (*pushvalue)(lua_State *, int);
    void (*pushcclosure)(lua_State *, lua_CFunction, int);
    void (*callk)(lua_State *, int, int, lua_KContext, lua_KFunction);
    void (*createtable)(lua_State *, int, int);
    void (*setfield)(lua_State *, int, const char *);
    lua_State *(*tothread)(lua_State *, int);
    lua_Integer (*tointegerx)(lua_State *, int, int *);
    int (*toboolean)(lua_State *, int);
    int (*type)(lua_State *, int);
    const char *(*getlocal)(lua_State *, const lua_Debug *, int);
    int (*rawequal)(lua_State *, int, int);
    int (*compare)(lua_State *, int, int, int);
    const char *(*tolstring)(lua_State *, int, size_t *);
    int (*setmetatable)(lua_State *, int);
} api;
static int api_ready = 0;

/* -- per Lua state: the filter ------------------------------------------------------------- */
#define LINE_BITS 65536                /* lines are looked up modulo this */
#define CACHE_SIZE 4096                /* functions remembered (a power of two) */
#define QUIET 64                       /* skipped line events between two looks by hooks.lua */
#define SKIP_CALL 1                    /* calls of this function need nothing */
#define SKIP_RETURN 2                  /* returns into this function need nothing */

#define MAX_CONDS 64
#define OP_EQ 0                        /* condition operators: ==, ~=, <, <=, >, >= */
#define OP_NE 1
#define OP_LT 2
#define OP_LE 3
#define OP_GT 4
#define OP_GE 5

typedef struct {
    const void *fn;
    int kind;
    int source;                        /* index + 1 in Filter.sources, -1 none, 0 not looked up */
} Entry;

typedef struct {
    int source;                        /* index in Filter.sources */
    int line;
    int op;
    int slot;                          /* where the local was last found (0: not yet) */
    int index;                         /* the constant is CONSTS_KEY[index + 1] */
    char *name;                        /* the local's name */
} Cond;

typedef struct {
    int stepping;                      /* a step or pause is pending: hooks.lua sees everything */
    int quiet;
    int nconds, nsources;
    unsigned char lines[LINE_BITS / 8];
    Entry cache[CACHE_SIZE];
    Cond conds[MAX_CONDS];
    char *sources[MAX_CONDS];
} Filter;

/* registry keys (their addresses) */
static char FILTER_KEY, HOOK_KEY, LINE_KEY, REFS_KEY, CONSTS_KEY;
static const char *const EVENT_NAMES[] = {"call", "return", "line", "count", "tail call"};

#define lua_pop(L, n) api.settop(L, -(n)-1)
#define lua_call(L, n, r) api.callk(L, n, r, 0, NULL)

/* The filter of L's state, found in the registry. Each OS thread remembers the last one it
 * found, by the registry's address; the epoch changes whenever a filter is made or collected,
 * so that a remembered filter is never used after its state changed it or was closed. */
static unsigned filter_epoch = 1;
static __thread const void *last_registry;
static __thread Filter *last_filter;
static __thread unsigned last_epoch;

static Filter *filter_of(lua_State *L) {
    Filter *f;
    const void *registry = api.topointer(L, REGISTRYINDEX);
    unsigned epoch = __atomic_load_n(&filter_epoch, __ATOMIC_ACQUIRE);
    if (registry == last_registry && epoch == last_epoch)
        return last_filter;
    api.rawgetp(L, REGISTRYINDEX, &FILTER_KEY);
    f = (Filter *)api.touserdata(L, -1);
    lua_pop(L, 1);
    if (f != NULL) {
        last_registry = registry;
        last_filter = f;
        last_epoch = epoch;
    }
    return f;
}

static void new_epoch(void) {
    __atomic_add_fetch(&filter_epoch, 1, __ATOMIC_ACQ_REL);
}

static size_t slot_of(const void *fn) {
    uintptr_t p = (uintptr_t)fn;
    return (size_t)((p >> 4) ^ (p >> 16)) & (CACHE_SIZE - 1);
}

/* The identity of the function a lua_Debug from a hook or lua_getstack describes, as
 * lua_topointer gives it. Read directly (the CallInfo's first field points to the function's
 * stack slot, whose first field is the closure or C function pointer) when llmspell_chook_open
 * found that this reading agrees with lua_getinfo("f") + lua_topointer; else through them. */
static int direct_identity = 0;

static const void *identity_of(lua_State *L, lua_Debug *ar) {
    const void *p;
    if (direct_identity)
        return **(void ***)ar->i_ci;
    api.getinfo(L, "f", ar);
    p = api.topointer(L, -1);
    lua_pop(L, 1);
    return p;
}

static int kind_of(const Filter *f, const void *fn) {
    const Entry *e = &f->cache[slot_of(fn)];
    return e->fn == fn ? e->kind : 0;
}

/* The entry of the function on top of the stack (left there), made if there is none (then it
 * names the function's source among those with conditions). */
static Entry *entry_of_top(lua_State *L, Filter *f) {
    const void *fn = api.topointer(L, -1);
    size_t slot = slot_of(fn);
    Entry *e = &f->cache[slot];
    if (e->fn != fn) {
        api.rawgetp(L, REGISTRYINDEX, &REFS_KEY);
        api.pushvalue(L, -2);
        api.rawseti(L, -2, (lua_Integer)slot + 1);
        lua_pop(L, 1);
        e->fn = fn;
        e->kind = 0;
        e->source = 0;
    }
    if (e->source == 0) {
        lua_Debug info;
        int i;
        e->source = -1;
        api.pushvalue(L, -1);
        if (api.getinfo(L, ">S", &info) && info.source != NULL) {
            for (i = 0; i < f->nsources; i++) {
                if (strcmp(f->sources[i], info.source) == 0) {
                    e->source = i + 1;
                    break;
                }
            }
        }
    }
    return e;
}

/* 1 if condition `c` is false in the running function (ar), 0 if it is true or this hook
 * cannot tell (then hooks.lua decides). */
static int condition_false(lua_State *L, lua_Debug *ar, Cond *c) {
    const char *name;
    int slot = 0, i, result = 0, ta, tb;
    if (c->slot > 0) {
        name = api.getlocal(L, ar, c->slot);
        if (name != NULL) {
            lua_pop(L, 1);
            if (strcmp(name, c->name) == 0)
                slot = c->slot;
        }
    }
    if (slot == 0) {
        /* the innermost local of that name: the last active one */
        for (i = 1; (name = api.getlocal(L, ar, i)) != NULL; i++) {
            lua_pop(L, 1);
            if (strcmp(name, c->name) == 0)
                slot = i;
        }
        if (slot == 0)
            return 0;
        c->slot = slot;
    }
    api.getlocal(L, ar, slot);                         /* the value */
    api.rawgetp(L, REGISTRYINDEX, &CONSTS_KEY);
    api.rawgeti(L, -1, (lua_Integer)c->index + 1);    /* the constant */
    ta = api.type(L, -3);
    tb = api.type(L, -1);
    if (c->op == OP_EQ || c->op == OP_NE) {
        /* the constant is a number, string, boolean or nil: == calls no metamethod */
        int equal = api.rawequal(L, -3, -1);
        result = c->op == OP_EQ ? !equal : equal;
    } else if (ta == tb && (ta == T_NUMBER || ta == T_STRING)) {
        /* a < b as Lua compares them (a > b is b < a) */
        int a = c->op == OP_GT || c->op == OP_GE ? -1 : -3;
        int b = a == -1 ? -3 : -1;
        int op = c->op == OP_LT || c->op == OP_GT ? 1 /* LUA_OPLT */ : 2 /* LUA_OPLE */;
        result = !api.compare(L, a, b, op);
    }
    lua_pop(L, 3);
    return result;
}

static void forward(lua_State *L, lua_Debug *ar) {
    if (api.rawgetp(L, REGISTRYINDEX, &HOOK_KEY) != T_FUNCTION) {
        lua_pop(L, 1);
        return;
    }
    api.pushstring(L, EVENT_NAMES[ar->event]);
    if (ar->currentline >= 0)
        api.pushinteger(L, ar->currentline);
    else
        api.pushnil(L);
    lua_call(L, 2, 0);
}

static void hook(lua_State *L, lua_Debug *ar) {
    Filter *f = filter_of(L);
    if (f == NULL)
        return;
    if (!f->stepping) {
        int event = ar->event;
        if (event == HOOKLINE) {
            int line = ar->currentline;
            unsigned bit = (unsigned)line & (LINE_BITS - 1);
            if (!(f->lines[bit >> 3] & (1u << (bit & 7))) && ++f->quiet < QUIET)
                return;
            f->quiet = 0;
            api.getinfo(L, "f", ar); /* the running function, kept below the call */
            if (f->nconds > 0) {
                Entry *e = entry_of_top(L, f);
                int i;
                for (i = 0; e->source > 0 && i < f->nconds; i++) {
                    Cond *c = &f->conds[i];
                    if (c->line == line && c->source == e->source - 1) {
                        if (condition_false(L, ar, c)) {
                            lua_pop(L, 1);
                            return;
                        }
                        break;
                    }
                }
            }
            if (api.rawgetp(L, REGISTRYINDEX, &LINE_KEY) == T_FUNCTION) {
                api.pushinteger(L, line);
                api.pushvalue(L, -3);
                lua_call(L, 2, 0);
                lua_pop(L, 1);
            } else {
                lua_pop(L, 2);
            }
            return;
        }
        if (event == HOOKCALL || event == HOOKTAILCALL) {
            f->quiet = 0;
            if (kind_of(f, identity_of(L, ar)) & SKIP_CALL)
                return;
        } else if (event == HOOKRET) {
            lua_Debug up;
            f->quiet = 0;
            if (api.gethookmask(L) & MASKLINE)
                return;
            if (api.getstack(L, 1, &up) && kind_of(f, identity_of(L, &up)) & SKIP_RETURN)
                return;
        }
    }
    forward(L, ar);
}

/* -- functions for hooks.lua --------------------------------------------------------------- */
static int to_mask(lua_State *L, int index) {
    return (int)api.tointegerx(L, index, NULL);
}

/* sethook(thread, mask, count, stepping): this hook on `thread` (mask bits as lua_sethook) */
static int l_sethook(lua_State *L) {
    lua_State *co = api.tothread(L, 1);
    int mask = to_mask(L, 2), count = (int)api.tointegerx(L, 3, NULL);
    Filter *f = filter_of(L);
    if (co == NULL || f == NULL)
        return 0;
    f->stepping = api.toboolean(L, 4);
    if (count > 0)
        mask |= MASKCOUNT;
    api.sethook(co, mask ? hook : NULL, mask, count);
    return 0;
}

/* mark(f, kind): calls of f (SKIP_CALL) and/or returns into it (SKIP_RETURN) need nothing.
 * The function is kept in a table while its entry lasts, so that its address cannot be reused
 * by another function while the cache names it. */
static int l_mark(lua_State *L) {
    Filter *f = filter_of(L);
    const void *fn = api.topointer(L, 1);
    int kind = (int)api.tointegerx(L, 2, NULL);
    size_t slot;
    if (f == NULL || fn == NULL)
        return 0;
    slot = slot_of(fn);
    if (f->cache[slot].fn == fn) {
        f->cache[slot].kind |= kind;
        return 0;
    }
    f->cache[slot].source = 0;
    api.rawgetp(L, REGISTRYINDEX, &REFS_KEY);
    api.pushvalue(L, 1);
    api.rawseti(L, -2, (lua_Integer)slot + 1);
    lua_pop(L, 1);
    f->cache[slot].fn = fn;
    f->cache[slot].kind = kind;
    return 0;
}

static void free_conditions(Filter *f) {
    int i;
    for (i = 0; i < f->nconds; i++)
        free(f->conds[i].name);
    for (i = 0; i < f->nsources; i++)
        free(f->sources[i]);
    f->nconds = f->nsources = 0;
}

/* reset(line, ...): forget every mark and condition; breakpoints are now on these lines */
static int l_reset(lua_State *L) {
    Filter *f = filter_of(L);
    int i, n = api.gettop(L);
    if (f == NULL)
        return 0;
    free_conditions(f);
    api.createtable(L, MAX_CONDS, 0);
    api.rawsetp(L, REGISTRYINDEX, &CONSTS_KEY);
    memset(f->cache, 0, sizeof f->cache);
    memset(f->lines, 0, sizeof f->lines);
    for (i = 1; i <= n; i++) {
        unsigned bit = (unsigned)api.tointegerx(L, i, NULL) & (LINE_BITS - 1);
        f->lines[bit >> 3] |= (unsigned char)(1u << (bit & 7));
    }
    f->quiet = 0;
    api.createtable(L, CACHE_SIZE, 0);
    api.rawsetp(L, REGISTRYINDEX, &REFS_KEY);
    return 0;
}

/* condition(source, line, name, op, constant) -> true if taken: the breakpoint at `line` of
 * `source` stops only where local `name` compares (op: 0 ==, 1 ~=, 2 <, 3 <=, 4 >, 5 >=)
 * true with `constant` (a number, string, boolean or nil); call after reset() */
static int l_condition(lua_State *L) {
    Filter *f = filter_of(L);
    const char *source = api.tolstring(L, 1, NULL), *name = api.tolstring(L, 3, NULL);
    int op = (int)api.tointegerx(L, 4, NULL), i, kind = api.type(L, 5);
    Cond *c;
    if (f == NULL || source == NULL || name == NULL || op < OP_EQ || op > OP_GE
        || f->nconds >= MAX_CONDS || kind > T_STRING || kind == 2 /* light userdata */)
        return 0;
    for (i = 0; i < f->nsources && strcmp(f->sources[i], source) != 0; i++)
        ;
    if (i == f->nsources) {
        if (f->nsources >= MAX_CONDS || (f->sources[i] = strdup(source)) == NULL)
            return 0;
        f->nsources++;
    }
    c = &f->conds[f->nconds];
    if ((c->name = strdup(name)) == NULL)
        return 0;
    c->source = i;
    c->line = (int)api.tointegerx(L, 2, NULL);
    c->op = op;
    c->slot = 0;
    c->index = f->nconds;
    api.rawgetp(L, REGISTRYINDEX, &CONSTS_KEY);
    api.pushvalue(L, 5);
    api.rawseti(L, -2, (lua_Integer)c->index + 1);
    lua_pop(L, 1);
    f->nconds++;
    for (i = 0; i < CACHE_SIZE; i++)
        f->cache[i].source = 0; /* looked up again with this source */
    api.pushboolean(L, 1);
    return 1;
}

static int l_gc(lua_State *L) {
    Filter *f = (Filter *)api.touserdata(L, 1);
    new_epoch();
    if (f != NULL)
        free_conditions(f);
    return 0;
}

/* open(hook, line_hook) -> { sethook, mark, reset }: the filter of this Lua state, handing
 * events to `hook(event, line)` and candidate lines to `line_hook(line, f)` */
static int l_open(lua_State *L) {
    Filter *f;
    if (!api_ready || api.type(L, 1) != T_FUNCTION || api.type(L, 2) != T_FUNCTION)
        return 0;
    api.pushvalue(L, 1);
    api.rawsetp(L, REGISTRYINDEX, &HOOK_KEY);
    api.pushvalue(L, 2);
    api.rawsetp(L, REGISTRYINDEX, &LINE_KEY);
    f = (Filter *)api.newuserdatauv(L, sizeof(Filter), 0);
    memset(f, 0, sizeof *f);
    new_epoch();
    api.createtable(L, 0, 1);
    api.pushcclosure(L, l_gc, 0);
    api.setfield(L, -2, "__gc");
    api.setmetatable(L, -2);
    api.rawsetp(L, REGISTRYINDEX, &FILTER_KEY);
    api.createtable(L, MAX_CONDS, 0);
    api.rawsetp(L, REGISTRYINDEX, &CONSTS_KEY);
    api.createtable(L, CACHE_SIZE, 0);
    api.rawsetp(L, REGISTRYINDEX, &REFS_KEY);
    api.createtable(L, 0, 4);
    api.pushcclosure(L, l_sethook, 0);
    api.setfield(L, -2, "sethook");
    api.pushcclosure(L, l_mark, 0);
    api.setfield(L, -2, "mark");
    api.pushcclosure(L, l_reset, 0);
    api.setfield(L, -2, "reset");
    api.pushcclosure(L, l_condition, 0);
    api.setfield(L, -2, "condition");
    api.pushboolean(L, direct_identity);
    api.setfield(L, -2, "direct");
    return 1;
}

/* The entry point package.loadlib asks for: returns open (or nothing if init() failed). A
 * check of the ABI first: the registry's main thread must be a thread, and lua_getinfo on this
 * C function must fill lua_Debug as declared above (nothing written past its end). */
int llmspell_chook_open(lua_State *L) {
    struct {
        lua_Debug ar;
        char canary[64];
    } probe;
    int ok;
    if (!api_ready)
        return 0;
    ok = api.rawgeti(L, REGISTRYINDEX, RIDX_MAINTHREAD) == T_THREAD;
    lua_pop(L, 1);
    memset(&probe, 0x5a, sizeof probe);
    if (ok && api.getstack(L, 0, &probe.ar) && api.getinfo(L, "Sl", &probe.ar)) {
        size_t i;
        ok = probe.ar.currentline == -1 && probe.ar.what != NULL && strcmp(probe.ar.what, "C") == 0
             && probe.ar.short_src[0] == '[';
        for (i = 0; i < sizeof probe.canary; i++)
            ok = ok && probe.canary[i] == 0x5a;
    } else {
        ok = 0;
    }
    if (!ok)
        return 0;
    /* the direct reading of function identities, checked on this C function and on a Lua
     * function (the caller: package.loadlib's result is called from session.py's loader) */
    {
        lua_Debug here, caller;
        const void *p1, *p2;
        direct_identity = 0;
        if (api.getstack(L, 0, &here) && api.getstack(L, 1, &caller)) {
            p1 = identity_of(L, &here);
            p2 = identity_of(L, &caller);
            direct_identity = p1 != NULL && p2 != NULL && p1 != p2
                              && **(void ***)here.i_ci == p1 && **(void ***)caller.i_ci == p2;
        }
    }
    api.pushcclosure(L, l_open, 0);
    return 1;
}

/* -- Python module -------------------------------------------------------------------------- */
#define RESOLVE(field, name)                                  \
    do {                                                      \
        *(void **)(&api.field) = dlsym(handle, name);         \
        if (api.field == NULL) {                              \
            PyErr_Format(PyExc_OSError, "%s not found", name); \
            return NULL;                                      \
        }                                                     \
    } while (0)

static PyObject *py_init(PyObject *self, PyObject *args) {
    const char *path;
    void *handle;
    (void)self;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    if (api_ready)
        Py_RETURN_TRUE;
    handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (handle == NULL) {
        PyErr_Format(PyExc_OSError, "%s is not loaded", path);
        return NULL;
    }
    RESOLVE(sethook, "lua_sethook");
    RESOLVE(gethookmask, "lua_gethookmask");
    RESOLVE(getinfo, "lua_getinfo");
    RESOLVE(getstack, "lua_getstack");
    RESOLVE(topointer, "lua_topointer");
    RESOLVE(settop, "lua_settop");
    RESOLVE(gettop, "lua_gettop");
    RESOLVE(rawgetp, "lua_rawgetp");
    RESOLVE(rawsetp, "lua_rawsetp");
    RESOLVE(rawgeti, "lua_rawgeti");
    RESOLVE(rawseti, "lua_rawseti");
    RESOLVE(touserdata, "lua_touserdata");
    RESOLVE(newuserdatauv, "lua_newuserdatauv");
    RESOLVE(pushstring, "lua_pushstring");
    RESOLVE(pushinteger, "lua_pushinteger");
    RESOLVE(pushnil, "lua_pushnil");
    RESOLVE(pushboolean, "lua_pushboolean");
    RESOLVE(pushvalue, "lua_pushvalue");
    RESOLVE(pushcclosure, "lua_pushcclosure");
    RESOLVE(callk, "lua_callk");
    RESOLVE(createtable, "lua_createtable");
    RESOLVE(setfield, "lua_setfield");
    RESOLVE(tothread, "lua_tothread");
    RESOLVE(tointegerx, "lua_tointegerx");
    RESOLVE(toboolean, "lua_toboolean");
    RESOLVE(type, "lua_type");
    RESOLVE(getlocal, "lua_getlocal");
    RESOLVE(rawequal, "lua_rawequal");
    RESOLVE(compare, "lua_compare");
    RESOLVE(tolstring, "lua_tolstring");
    RESOLVE(setmetatable, "lua_setmetatable");
    /* the handle stays open: lupa's module is never unloaded */
    api_ready = 1;
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"init", py_init, METH_VARARGS,
     "init(path): look the Lua C API up in the loaded module at `path` (lupa's)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chook", "The debugger's C hook (see _chook.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__chook(void) {
    return PyModule_Create(&module);
}
