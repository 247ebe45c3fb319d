/*
 * quiesce-c-writer: a Quiesce writer in plain C on libdbus-1, written from
 * dbus/org.quiesce.Writer1.xml, dbus/schemas/ and docs/protocol.md alone.
 *
 * Its "application" appends one line to DATA/journal.log every 20 ms (--journal-interval-ms;
 * 0: no journal); Freeze holds the
 * appends until Thaw or Abort (or until the lease runs out, or quiesced leaves the bus).
 * It prints one JSON line per event it receives on standard output, for tests. With
 * --freeze-delay-ms, Freeze takes that long before it answers (an application flushing; the
 * benchmark's freeze window), holding this single-threaded writer meanwhile.
 *
 *   quiesce-c-writer --address ADDRESS --name NAME --data DIR [--level front-end|back-end|system]
 *                    [--freeze-timeout-ms N] [--journal-interval-ms N] [--veto EVENT:CODE:MESSAGE]
 *                    [--component-message EVENT:MESSAGE] [--interface-xml FILE] [--freeze-delay-ms N]
 *
 * Build: cc -o quiesce-c-writer c_writer.c $(pkg-config --cflags --libs dbus-1)
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WRITER_PATH "/org/quiesce/Writer"
#define WRITER_INTERFACE "org.quiesce.Writer1"
#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"
#define COORDINATOR "org.quiesce.Coordinator"
#define MAX_SESSIONS 8

/* ---- The writer's configuration and state ---- */

static struct {
    const char *name, *data, *level, *veto, *component_message, *interface_xml;
    char class_id[64], instance_id[64];
    unsigned freeze_timeout_ms, journal_interval_ms, freeze_delay_ms;
} config = {.level = "back-end", .freeze_timeout_ms = 60000, .journal_interval_ms = 20, .class_id = "d4c1b2a3-0f1e-4d2c-9b8a-7c6d5e4f3a21"};

struct session {
    int used;
    char id[65];
    char last_event[32];          /* "" before the first event */
    char state[40];
    int frozen;                   /* Freeze came; Thaw or Abort did not */
    int64_t lease_deadline_ms;    /* when frozen: the writer thaws on its own at this time */
    int self_aborted;             /* the lease ran out: a late Thaw learns it */
};

static struct session sessions[MAX_SESSIONS];
static char state[40] = "stable", last_error[40] = "no-error", last_message[512] = "";
static char coordinator_owner[256] = "";
static DBusConnection *bus;
static volatile sig_atomic_t stopping;
static long journal_lines;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- The application: a journal that stops growing while frozen ---- */

static int any_frozen(void) {
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i].used && sessions[i].frozen) return 1;
    return 0;
}

static void application_tick(void) {
    static int64_t next;
    if (config.journal_interval_ms == 0 || now_ms() < next || any_frozen()) return;
    next = now_ms() + config.journal_interval_ms;
    char path[4096];
    snprintf(path, sizeof path, "%s/journal.log", config.data);
    FILE *journal = fopen(path, "a");
    if (!journal) return;
    fprintf(journal, "line %ld\n", ++journal_lines);
    fclose(journal);
}

/* ---- States (docs/protocol.md, "States") ---- */

static const char *state_on_success(const char *event) {
    static const char *table[][2] = {
        {"PrepareForBackup", "stable"}, {"PrepareForSnapshot", "waiting-for-freeze"}, {"Freeze", "waiting-for-thaw"},
        {"Thaw", "waiting-for-post-snapshot"}, {"PostSnapshot", "waiting-for-backup-complete"},
        {"BackupComplete", "stable"}, {"PreRestore", "waiting-for-post-restore"}, {"PostRestore", "stable"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i][0], event) == 0) return table[i][1];
    return NULL; /* Abort, BackupShutdown: a failed state stays, anything else becomes stable */
}

static void state_on_failure(const char *event, char *out, size_t size) {
    if (strcmp(event, "Abort") == 0) { snprintf(out, size, "failed-at-freeze"); return; }
    /* failed-at-<event in kebab case>, PrepareForBackup → failed-at-prepare-backup */
    const char *name = strcmp(event, "PrepareForBackup") == 0 ? "PrepareBackup"
                     : strcmp(event, "PrepareForSnapshot") == 0 ? "PrepareSnapshot" : event;
    size_t n = (size_t)snprintf(out, size, "failed-at");
    for (const char *p = name; *p && n + 2 < size; p++) {
        if (*p >= 'A' && *p <= 'Z') { out[n++] = '-'; out[n++] = (char)(*p + 32); } else out[n++] = *p;
    }
    out[n] = 0;
}

/* The event each event must follow in its session; "" starts a session; NULL: any time. */
static const char *predecessor(const char *event) {
    static const char *table[][2] = {
        {"PrepareForBackup", ""}, {"PrepareForSnapshot", "PrepareForBackup"}, {"Freeze", "PrepareForSnapshot"},
        {"Thaw", "Freeze"}, {"PostSnapshot", "Thaw"}, {"BackupComplete", "PostSnapshot"},
        {"PreRestore", ""}, {"PostRestore", "PreRestore"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i][0], event) == 0) return table[i][1];
    return NULL;
}

/* ---- Properties ---- */

static void append_variant_string(DBusMessageIter *dict, const char *key, const char *value) {
    DBusMessageIter entry, variant;
    dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
    dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key);
    dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "s", &variant);
    dbus_message_iter_append_basic(&variant, DBUS_TYPE_STRING, &value);
    dbus_message_iter_close_container(&entry, &variant);
    dbus_message_iter_close_container(dict, &entry);
}

static void append_variant_uint(DBusMessageIter *dict, const char *key, int type, const void *value) {
    DBusMessageIter entry, variant;
    char signature[2] = {(char)type, 0};
    dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
    dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key);
    dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, signature, &variant);
    dbus_message_iter_append_basic(&variant, type, value);
    dbus_message_iter_close_container(&entry, &variant);
    dbus_message_iter_close_container(dict, &entry);
}

static dbus_uint32_t session_count(void) {
    dbus_uint32_t count = 0;
    for (int i = 0; i < MAX_SESSIONS; i++) count += (dbus_uint32_t)sessions[i].used;
    return count;
}

/* Appends every property (all = 1) or only those that change with events. */
static void append_properties(DBusMessageIter *dict, int all) {
    if (all) {
        append_variant_string(dict, "Name", config.name);
        append_variant_string(dict, "ClassId", config.class_id);
        append_variant_string(dict, "InstanceId", config.instance_id);
        append_variant_string(dict, "ApplicationLevel", config.level);
    }
    append_variant_string(dict, "State", state);
    append_variant_string(dict, "LastError", last_error);
    append_variant_string(dict, "LastMessage", last_message);
    dbus_uint32_t count = session_count();
    append_variant_uint(dict, "Sessions", DBUS_TYPE_UINT32, &count);
}

/* Announcing them: once no property changed for settle_ms (at most 2 s after the first change),
 * so that the signal is not a third message beside every call and reply (docs/protocol.md,
 * "Properties"); each event's reply carries the values at once. */
static struct {
    int64_t settle_ms, due_ms, latest_ms;
    int pending;
} announcement = {.settle_ms = 500};

static void emit_properties_changed(void) {
    DBusMessage *signal = dbus_message_new_signal(WRITER_PATH, PROPERTIES_INTERFACE, "PropertiesChanged");
    DBusMessageIter args, dict, invalidated;
    const char *interface = WRITER_INTERFACE;
    dbus_message_iter_init_append(signal, &args);
    dbus_message_iter_append_basic(&args, DBUS_TYPE_STRING, &interface);
    dbus_message_iter_open_container(&args, DBUS_TYPE_ARRAY, "{sv}", &dict);
    append_properties(&dict, 0);
    dbus_message_iter_close_container(&args, &dict);
    dbus_message_iter_open_container(&args, DBUS_TYPE_ARRAY, "s", &invalidated);
    dbus_message_iter_close_container(&args, &invalidated);
    dbus_connection_send(bus, signal, NULL);
    dbus_message_unref(signal);
}

/* A property changed: announce it now (settle time 0) or once the values settle. */
static void properties_changed(void) {
    int64_t now = now_ms();
    if (announcement.settle_ms == 0) { emit_properties_changed(); return; }
    if (!announcement.pending) announcement.latest_ms = now + 2000;
    announcement.pending = 1;
    announcement.due_ms = now + announcement.settle_ms < announcement.latest_ms ? now + announcement.settle_ms : announcement.latest_ms;
}

/* Emits the announcement when it is due (or `now` < 0: at once, if one is pending). */
static void announce_if_due(int64_t now) {
    if (!announcement.pending || (now >= 0 && now < announcement.due_ms)) return;
    announcement.pending = 0;
    emit_properties_changed();
}

static void record(const char *new_state, const char *failure, const char *message) {
    snprintf(state, sizeof state, "%s", new_state);
    snprintf(last_error, sizeof last_error, "%s", *failure ? failure : "no-error");
    snprintf(last_message, sizeof last_message, "%s", message);
    properties_changed();
}

/* ---- Sessions ---- */

static struct session *find_session(const char *id) {
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i].used && strcmp(sessions[i].id, id) == 0) return &sessions[i];
    return NULL;
}

static struct session *new_session(const char *id) {
    for (int i = 0; i < MAX_SESSIONS; i++) {
        if (!sessions[i].used) {
            memset(&sessions[i], 0, sizeof sessions[i]);
            sessions[i].used = 1;
            snprintf(sessions[i].id, sizeof sessions[i].id, "%s", id);
            snprintf(sessions[i].state, sizeof sessions[i].state, "stable");
            return &sessions[i];
        }
    }
    return NULL;
}

static int valid_session_id(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > 64) return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')) return 0;
    return 1;
}

/* Thaws a session nobody else will thaw: the lease ran out, or the coordinator left. */
static void self_abort(struct session *s, const char *failure, const char *reason) {
    s->frozen = 0;
    s->self_aborted = failure != NULL;
    snprintf(s->state, sizeof s->state, "%s", failure ? "failed-at-freeze" : "stable");
    snprintf(s->last_event, sizeof s->last_event, "Abort");
    printf("{\"self-abort\": \"%s\", \"reason\": \"%s\"}\n", s->id, reason);
    fflush(stdout);
    record(s->state, failure ? failure : "", reason);
}

/* The coordinator that ran our sessions left the bus: end every one of them. */
static void end_sessions_of_vanished_coordinator(void) {
    for (int i = 0; i < MAX_SESSIONS; i++) {
        struct session *s = &sessions[i];
        if (!s->used) continue;
        int between = s->frozen || strcmp(s->last_event, "PrepareForSnapshot") == 0 || strcmp(s->last_event, "Thaw") == 0
                   || strcmp(s->last_event, "PostSnapshot") == 0;
        if (between) self_abort(s, NULL, "the coordinator left the bus");
        printf("{\"ended\": \"%s\", \"reason\": \"the coordinator left the bus\"}\n", s->id);
        fflush(stdout);
        s->used = 0;
    }
    properties_changed();
}

/* ---- The sender rule ---- */

static void refresh_coordinator_owner(void) {
    DBusMessage *call = dbus_message_new_method_call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner");
    const char *name = COORDINATOR;
    dbus_message_append_args(call, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID);
    DBusMessage *reply = dbus_connection_send_with_reply_and_block(bus, call, 2000, NULL);
    dbus_message_unref(call);
    const char *owner = "";
    if (reply) dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID);
    snprintf(coordinator_owner, sizeof coordinator_owner, "%s", owner);
    if (reply) dbus_message_unref(reply);
}

static int sent_by_coordinator(DBusMessage *message) {
    const char *sender = dbus_message_get_sender(message);
    if (!sender) return 0;
    if (strcmp(sender, coordinator_owner) == 0) return 1;
    refresh_coordinator_owner(); /* a NameOwnerChanged may not have reached us yet */
    return strcmp(sender, coordinator_owner) == 0;
}

/* ---- Events ---- */

struct options {
    dbus_uint32_t lease_ms;
    int has_succeeded, succeeded;
    char backup_metadata[1024]; /* for our component "data", at PreRestore and PostRestore */
};

/* Reads the keys we use from the a{sv}; unknown keys are ignored (the compatibility rule). */
static int read_options(DBusMessageIter *array, struct options *out, const char **problem) {
    memset(out, 0, sizeof *out);
    if (dbus_message_iter_get_arg_type(array) != DBUS_TYPE_ARRAY) { *problem = "options must be a{sv}"; return 0; }
    DBusMessageIter entries;
    dbus_message_iter_recurse(array, &entries);
    while (dbus_message_iter_get_arg_type(&entries) == DBUS_TYPE_DICT_ENTRY) {
        DBusMessageIter entry, value;
        const char *key;
        dbus_message_iter_recurse(&entries, &entry);
        dbus_message_iter_get_basic(&entry, &key);
        dbus_message_iter_next(&entry);
        dbus_message_iter_recurse(&entry, &value);
        int type = dbus_message_iter_get_arg_type(&value);
        if (strcmp(key, "lease-ms") == 0) {
            if (type != DBUS_TYPE_UINT32) { *problem = "lease-ms must be an unsigned 32-bit integer (u)"; return 0; }
            dbus_message_iter_get_basic(&value, &out->lease_ms);
        } else if (strcmp(key, "succeeded") == 0) {
            if (type != DBUS_TYPE_BOOLEAN) { *problem = "succeeded must be a boolean (b)"; return 0; }
            dbus_bool_t flag;
            dbus_message_iter_get_basic(&value, &flag);
            out->has_succeeded = 1;
            out->succeeded = flag != 0;
        } else if (strcmp(key, "backup-metadata") == 0 && type == DBUS_TYPE_ARRAY) {
            DBusMessageIter metadata;
            dbus_message_iter_recurse(&value, &metadata);
            while (dbus_message_iter_get_arg_type(&metadata) == DBUS_TYPE_DICT_ENTRY) {
                DBusMessageIter pair;
                const char *component, *text;
                dbus_message_iter_recurse(&metadata, &pair);
                dbus_message_iter_get_basic(&pair, &component);
                dbus_message_iter_next(&pair);
                dbus_message_iter_get_basic(&pair, &text);
                if (strcmp(component, "data") == 0) snprintf(out->backup_metadata, sizeof out->backup_metadata, "%s", text);
                dbus_message_iter_next(&metadata);
            }
        }
        dbus_message_iter_next(&entries);
    }
    return 1;
}

/* "EVENT:rest" in `setting` for `event`: a pointer to rest, or NULL. */
static const char *setting_for(const char *setting, const char *event) {
    size_t n = strlen(event);
    if (!setting || strncmp(setting, event, n) != 0 || setting[n] != ':') return NULL;
    return setting + n + 1;
}

static DBusMessage *error_reply(DBusMessage *message, const char *name, const char *text) {
    return dbus_message_new_error(message, name, text);
}

static DBusMessage *handle_event(DBusMessage *message, const char *event) {
    if (!sent_by_coordinator(message))
        return error_reply(message, "org.quiesce.Error.AccessDenied", "writer events are accepted only from the owner of " COORDINATOR);
    DBusMessageIter args;
    const char *session_id, *problem = NULL;
    struct options options;
    if (!dbus_message_iter_init(message, &args) || dbus_message_iter_get_arg_type(&args) != DBUS_TYPE_STRING)
        return error_reply(message, "org.quiesce.Error.InvalidArgument", "expected (s session, a{sv} options)");
    dbus_message_iter_get_basic(&args, &session_id);
    dbus_message_iter_next(&args);
    if (!valid_session_id(session_id))
        return error_reply(message, "org.quiesce.Error.InvalidArgument", "session id must be 1 to 64 letters, digits, '-' or '_'");
    if (!read_options(&args, &options, &problem)) return error_reply(message, "org.quiesce.Error.InvalidArgument", problem);

    struct session *s = find_session(session_id);
    if (strcmp(event, "Thaw") == 0 && s && s->self_aborted) {
        /* The lease ran out before Thaw: answer with what happened. */
    } else {
        const char *expected = predecessor(event);
        if (expected && *expected && (!s || strcmp(s->last_event, expected) != 0))
            return error_reply(message, "org.quiesce.Error.BadState", "the event does not follow its session's previous event");
        if (expected && !*expected && s)
            return error_reply(message, "org.quiesce.Error.BadState", "the event starts a session, and this session has started");
    }
    const char *failure = "", *text = "";
    char failed_state[40], veto_code[40] = "", component_message[512] = "", metadata[128] = "";
    if (!s && !(s = new_session(session_id))) {
        failure = "status-not-available";
        text = "the writer is in as many sessions as it takes";
        snprintf(failed_state, sizeof failed_state, "stable");
    }
    printf("{\"event\": \"%s\", \"session\": \"%s\", \"lease-ms\": %u, \"backup-metadata\": \"%s\"}\n", event, session_id,
           options.lease_ms, options.backup_metadata);
    fflush(stdout);

    const char *result_state = NULL;
    if (*failure) {
        result_state = failed_state;
    } else if (strcmp(event, "Thaw") == 0 && s->self_aborted) {
        failure = "timeout";
        text = "the freeze lease ran out before Thaw";
        result_state = "failed-at-freeze";
    } else {
        /* The application's part of each event. */
        if (strcmp(event, "Freeze") == 0) {
            s->frozen = 1;
            s->lease_deadline_ms = now_ms() + (options.lease_ms ? options.lease_ms : config.freeze_timeout_ms);
            if (config.freeze_delay_ms) {
                struct timespec delay = {config.freeze_delay_ms / 1000, (long)(config.freeze_delay_ms % 1000) * 1000000L};
                while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {}
            }
        }
        if (strcmp(event, "Thaw") == 0 || strcmp(event, "Abort") == 0) s->frozen = 0;
        if (strcmp(event, "PrepareForBackup") == 0) snprintf(metadata, sizeof metadata, "journal lines at PrepareForBackup: %ld", journal_lines);
        const char *veto = setting_for(config.veto, event);
        if (veto) {
            const char *colon = strchr(veto, ':');
            snprintf(veto_code, sizeof veto_code, "%.*s", colon ? (int)(colon - veto) : (int)strlen(veto), veto);
            failure = veto_code;
            text = colon ? colon + 1 : "";
            if (strcmp(event, "Freeze") == 0) s->frozen = 0; /* a vetoed Freeze holds nothing */
        }
        const char *note = setting_for(config.component_message, event);
        if (note) snprintf(component_message, sizeof component_message, "%s", note);
        if (*failure) {
            state_on_failure(event, failed_state, sizeof failed_state);
            result_state = failed_state;
        } else if (state_on_success(event)) {
            result_state = state_on_success(event);
        } else {
            result_state = strncmp(s->state, "failed-at-", 10) == 0 ? s->state : "stable";
        }
    }
    if (s) {
        snprintf(s->state, sizeof s->state, "%s", result_state);
        snprintf(s->last_event, sizeof s->last_event, "%s", event);
        if (strcmp(event, "BackupShutdown") == 0) s->used = 0;
    }

    /* Abort and BackupShutdown leave a failed state as it was (only Sessions changes). */
    int keeps_failure = !*failure && !state_on_success(event) && strncmp(state, "failed-at-", 10) == 0;
    if (keeps_failure) properties_changed(); else record(result_state, failure, text);

    /* The result (dbus/schemas/event-result.schema.json). */
    DBusMessage *reply = dbus_message_new_method_return(message);
    DBusMessageIter out, dict;
    dbus_message_iter_init_append(reply, &out);
    dbus_message_iter_open_container(&out, DBUS_TYPE_ARRAY, "{sv}", &dict);
    append_variant_string(&dict, "state", result_state);
    append_variant_string(&dict, "failure", failure);
    append_variant_string(&dict, "message", text);
    dbus_uint64_t duration = 0;
    append_variant_uint(&dict, "duration-us", DBUS_TYPE_UINT64, &duration);
    {
        /* "components": {"data": {"backup-metadata": s, "failure-messages": {EVENT: s}}} */
        DBusMessageIter entry, variant, components, component, report;
        const char *key = "components", *name = "data";
        dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
        dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key);
        dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "a{sa{sv}}", &variant);
        dbus_message_iter_open_container(&variant, DBUS_TYPE_ARRAY, "{sa{sv}}", &components);
        if (*metadata || *component_message) {
            dbus_message_iter_open_container(&components, DBUS_TYPE_DICT_ENTRY, NULL, &component);
            dbus_message_iter_append_basic(&component, DBUS_TYPE_STRING, &name);
            dbus_message_iter_open_container(&component, DBUS_TYPE_ARRAY, "{sv}", &report);
            if (*metadata && !*failure) append_variant_string(&report, "backup-metadata", metadata);
            if (*component_message) {
                DBusMessageIter item, inner, messages, pair;
                const char *messages_key = "failure-messages", *event_name = event;
                const char *value = component_message;
                dbus_message_iter_open_container(&report, DBUS_TYPE_DICT_ENTRY, NULL, &item);
                dbus_message_iter_append_basic(&item, DBUS_TYPE_STRING, &messages_key);
                dbus_message_iter_open_container(&item, DBUS_TYPE_VARIANT, "a{ss}", &inner);
                dbus_message_iter_open_container(&inner, DBUS_TYPE_ARRAY, "{ss}", &messages);
                dbus_message_iter_open_container(&messages, DBUS_TYPE_DICT_ENTRY, NULL, &pair);
                dbus_message_iter_append_basic(&pair, DBUS_TYPE_STRING, &event_name);
                dbus_message_iter_append_basic(&pair, DBUS_TYPE_STRING, &value);
                dbus_message_iter_close_container(&messages, &pair);
                dbus_message_iter_close_container(&inner, &messages);
                dbus_message_iter_close_container(&item, &inner);
                dbus_message_iter_close_container(&report, &item);
            }
            dbus_message_iter_close_container(&component, &report);
            dbus_message_iter_close_container(&components, &component);
        }
        dbus_message_iter_close_container(&variant, &components);
        dbus_message_iter_close_container(&entry, &variant);
        dbus_message_iter_close_container(&dict, &entry);
    }
    {
        /* "properties": the values after this event, for listeners that should not wait for
         * the PropertiesChanged announced once they settle. */
        DBusMessageIter entry, variant, values;
        const char *key = "properties";
        dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
        dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key);
        dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "a{sv}", &variant);
        dbus_message_iter_open_container(&variant, DBUS_TYPE_ARRAY, "{sv}", &values);
        append_properties(&values, 0);
        dbus_message_iter_close_container(&variant, &values);
        dbus_message_iter_close_container(&entry, &variant);
        dbus_message_iter_close_container(&dict, &entry);
    }
    dbus_message_iter_close_container(&out, &dict);
    return reply;
}

/* ---- Identify ---- */

static DBusMessage *handle_identify(DBusMessage *message) {
    char metadata[8192];
    unsigned timeout = config.freeze_timeout_ms;
    snprintf(metadata, sizeof metadata,
             "{\"name\": \"%s\", \"class-id\": \"%s\", \"instance-id\": \"%s\", \"application-level\": \"%s\","
             " \"freeze-timeout-ms\": %u, \"restore-method\": \"restore-if-can-replace\","
             " \"components\": [{\"name\": \"data\", \"caption\": \"The journal of %s\","
             " \"files\": [{\"path\": \"%s\", \"pattern\": \"*\", \"recursive\": true}]}]}",
             config.name, config.class_id, config.instance_id, config.level, timeout, config.name, config.data);
    DBusMessage *reply = dbus_message_new_method_return(message);
    const char *text = metadata;
    dbus_message_append_args(reply, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID);
    return reply;
}

/* ---- Dispatch ---- */

static const char *events[] = {"PrepareForBackup", "PrepareForSnapshot", "Freeze", "Thaw", "PostSnapshot", "Abort",
                               "BackupComplete", "BackupShutdown", "PreRestore", "PostRestore"};

static char *read_file(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) return NULL;
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[n] = 0;
    return text;
}

static DBusHandlerResult on_object_call(DBusConnection *connection, DBusMessage *message, void *data) {
    (void)data;
    const char *interface = dbus_message_get_interface(message), *member = dbus_message_get_member(message);
    DBusMessage *reply = NULL;
    if (dbus_message_get_type(message) != DBUS_MESSAGE_TYPE_METHOD_CALL || !member) return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    if (interface && strcmp(interface, PROPERTIES_INTERFACE) == 0) {
        DBusMessageIter args, dict;
        reply = dbus_message_new_method_return(message);
        dbus_message_iter_init_append(reply, &args);
        if (strcmp(member, "GetAll") == 0) {
            dbus_message_iter_open_container(&args, DBUS_TYPE_ARRAY, "{sv}", &dict);
            append_properties(&dict, 1);
            dbus_message_iter_close_container(&args, &dict);
        } else if (strcmp(member, "Get") == 0) {
            const char *asked_interface, *property;
            dbus_message_unref(reply);
            reply = NULL;
            if (dbus_message_get_args(message, NULL, DBUS_TYPE_STRING, &asked_interface, DBUS_TYPE_STRING, &property, DBUS_TYPE_INVALID)) {
                /* Build GetAll's dictionary and pick the one property out of it. */
                DBusMessage *all = dbus_message_new_method_return(message);
                DBusMessageIter a, d, entries;
                dbus_message_iter_init_append(all, &a);
                dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, "{sv}", &d);
                append_properties(&d, 1);
                dbus_message_iter_close_container(&a, &d);
                dbus_message_iter_init(all, &a);
                dbus_message_iter_recurse(&a, &entries);
                while (dbus_message_iter_get_arg_type(&entries) == DBUS_TYPE_DICT_ENTRY) {
                    DBusMessageIter entry, value, out, copy;
                    const char *name;
                    dbus_message_iter_recurse(&entries, &entry);
                    dbus_message_iter_get_basic(&entry, &name);
                    dbus_message_iter_next(&entry);
                    if (strcmp(name, property) == 0) {
                        dbus_message_iter_recurse(&entry, &value);
                        reply = dbus_message_new_method_return(message);
                        dbus_message_iter_init_append(reply, &out);
                        char signature[2] = {(char)dbus_message_iter_get_arg_type(&value), 0};
                        dbus_message_iter_open_container(&out, DBUS_TYPE_VARIANT, signature, &copy);
                        if (signature[0] == DBUS_TYPE_STRING) {
                            const char *text;
                            dbus_message_iter_get_basic(&value, &text);
                            dbus_message_iter_append_basic(&copy, DBUS_TYPE_STRING, &text);
                        } else {
                            dbus_uint32_t number;
                            dbus_message_iter_get_basic(&value, &number);
                            dbus_message_iter_append_basic(&copy, DBUS_TYPE_UINT32, &number);
                        }
                        dbus_message_iter_close_container(&out, &copy);
                    }
                    dbus_message_iter_next(&entries);
                }
                dbus_message_unref(all);
            }
            if (!reply) reply = error_reply(message, DBUS_ERROR_UNKNOWN_PROPERTY, "no such property");
        } else {
            dbus_message_unref(reply);
            reply = error_reply(message, DBUS_ERROR_PROPERTY_READ_ONLY, "the writer's properties are read-only");
        }
    } else if (interface && strcmp(interface, "org.freedesktop.DBus.Introspectable") == 0 && strcmp(member, "Introspect") == 0) {
        const char *xml = config.interface_xml ? read_file(config.interface_xml) : NULL;
        if (!xml) xml = "<node><interface name=\"" WRITER_INTERFACE "\"/></node>";
        reply = dbus_message_new_method_return(message);
        dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID);
    } else if (!interface || strcmp(interface, WRITER_INTERFACE) == 0) {
        if (strcmp(member, "Identify") == 0) reply = handle_identify(message);
        for (size_t i = 0; !reply && i < sizeof events / sizeof events[0]; i++) {
            if (strcmp(member, events[i]) != 0) continue;
            if (!dbus_message_has_signature(message, "sa{sv}"))
                reply = error_reply(message, DBUS_ERROR_INVALID_ARGS, "expected (s session, a{sv} options)");
            else
                reply = handle_event(message, events[i]);
        }
    }
    if (!reply) return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    dbus_connection_send(connection, reply, NULL);
    dbus_message_unref(reply);
    return DBUS_HANDLER_RESULT_HANDLED;
}

/* NameOwnerChanged for org.quiesce.Coordinator: follow the owner; when it leaves, end its sessions. */
static DBusHandlerResult on_signal(DBusConnection *connection, DBusMessage *message, void *data) {
    (void)connection;
    (void)data;
    const char *name, *old_owner, *new_owner;
    if (!dbus_message_is_signal(message, "org.freedesktop.DBus", "NameOwnerChanged")) return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    if (!dbus_message_get_args(message, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner, DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID))
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    if (strcmp(name, COORDINATOR) != 0) return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    if (*old_owner) end_sessions_of_vanished_coordinator();
    snprintf(coordinator_owner, sizeof coordinator_owner, "%s", new_owner);
    return DBUS_HANDLER_RESULT_HANDLED;
}

/* ---- Main ---- */

static void on_terminate(int signal) {
    (void)signal;
    stopping = 1;
}

static void usage(void) {
    fprintf(stderr, "usage: quiesce-c-writer --address ADDRESS --name NAME --data DIR [--level LEVEL] [--freeze-timeout-ms N]\n"
                    "                        [--journal-interval-ms N] [--veto EVENT:CODE:MESSAGE] [--component-message EVENT:MESSAGE]\n"
                    "                        [--interface-xml FILE] [--freeze-delay-ms N]\n");
    exit(64);
}

int main(int argc, char **argv) {
    const char *address = NULL;
    static struct option long_options[] = {
        {"address", required_argument, 0, 'a'}, {"name", required_argument, 0, 'n'}, {"data", required_argument, 0, 'd'},
        {"level", required_argument, 0, 'l'}, {"freeze-timeout-ms", required_argument, 0, 't'}, {"veto", required_argument, 0, 'v'},
        {"component-message", required_argument, 0, 'c'}, {"interface-xml", required_argument, 0, 'x'},
        {"journal-interval-ms", required_argument, 0, 'j'}, {"freeze-delay-ms", required_argument, 0, 'f'}, {0, 0, 0, 0},
    };
    for (int option; (option = getopt_long(argc, argv, "", long_options, NULL)) != -1;) {
        switch (option) {
        case 'a': address = optarg; break;
        case 'n': config.name = optarg; break;
        case 'd': config.data = optarg; break;
        case 'l': config.level = optarg; break;
        case 't': config.freeze_timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'v': config.veto = optarg; break;
        case 'c': config.component_message = optarg; break;
        case 'x': config.interface_xml = optarg; break;
        case 'j': config.journal_interval_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'f': config.freeze_delay_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (!address || !config.name || !config.data || config.freeze_timeout_ms == 0) usage();
    const char *settle = getenv("QUIESCE_PROPERTY_SETTLE_MS"); /* as the Swift SDK: 0 announces after every event */
    if (settle && *settle >= '0' && *settle <= '9') {
        unsigned long milliseconds = strtoul(settle, NULL, 10);
        announcement.settle_ms = milliseconds > 2000 ? 2000 : (int64_t)milliseconds;
    }
    FILE *random = fopen("/proc/sys/kernel/random/uuid", "r");
    if (!random || !fgets(config.instance_id, sizeof config.instance_id, random)) { perror("instance id"); return 1; }
    fclose(random);
    config.instance_id[strcspn(config.instance_id, "\n")] = 0;

    DBusError error;
    dbus_error_init(&error);
    bus = dbus_connection_open_private(address, &error);
    if (!bus || !dbus_bus_register(bus, &error)) { fprintf(stderr, "cannot connect to %s: %s\n", address, error.message); return 1; }
    dbus_connection_set_exit_on_disconnect(bus, FALSE);
    static const DBusObjectPathVTable vtable = {.message_function = on_object_call};
    dbus_connection_register_object_path(bus, WRITER_PATH, &vtable, NULL);
    dbus_connection_add_filter(bus, on_signal, NULL, NULL);
    dbus_bus_add_match(bus, "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" COORDINATOR "'", &error);
    refresh_coordinator_owner();
    char bus_name[300];
    snprintf(bus_name, sizeof bus_name, "org.quiesce.Writer.%s", config.name);
    if (dbus_bus_request_name(bus, bus_name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &error) != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
        fprintf(stderr, "cannot own %s: %s\n", bus_name, error.message ? error.message : "the name is taken");
        return 1;
    }
    fprintf(stderr, "writer %s is on the bus as %s (%s)\n", config.name, bus_name, dbus_bus_get_unique_name(bus));
    /* A parent may have left these signals blocked (children inherit the mask): unblock them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);
    signal(SIGTERM, on_terminate);
    signal(SIGINT, on_terminate);

    while (!stopping) {
        application_tick();
        int64_t now = now_ms(), wait = config.journal_interval_ms ? config.journal_interval_ms : 1000;
        for (int i = 0; i < MAX_SESSIONS; i++) {
            struct session *s = &sessions[i];
            if (!s->used || !s->frozen) continue;
            if (now >= s->lease_deadline_ms) self_abort(s, "timeout", "the freeze lease ran out before Thaw");
            else if (s->lease_deadline_ms - now < wait) wait = s->lease_deadline_ms - now;
        }
        announce_if_due(now);
        if (announcement.pending && announcement.due_ms - now < wait) wait = announcement.due_ms - now;
        if (!dbus_connection_read_write_dispatch(bus, (int)wait)) break; /* the bus went away */
    }
    /* Shutting down (or the bus is gone): nothing stays frozen. */
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i].used && sessions[i].frozen) self_abort(&sessions[i], NULL, "the writer is shutting down");
    announce_if_due(-1);
    dbus_connection_flush(bus);
    dbus_connection_close(bus);
    dbus_connection_unref(bus);
    return 0;
}
