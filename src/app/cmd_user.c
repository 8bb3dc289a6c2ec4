/* atp user add|list|set-role|unlock|disable|enable: operator commands on the platform's users, straight
 * on the store. set-role, disable, enable and unlock run api/useradmin.c, the code of the admin
 * routes. Every change is audited as done by the operator (user 0, ip "cli"). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.h"
#include "app/dbopen.h"
#include "api/useradmin.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/names.h"

#define MIN_PASSWORD 10

static const char *const role_names[] = {"admin", "trader", "investor"};

static int find_user(struct store *s, const char *email, struct store_user *u)
{
    struct atp_err err;
    if (!email)
        return cli_fail("user", "--email is required");
    if (store_user_get_by_email(s, email, u, &err) != ATP_OK)
        return cli_fail("user", "no user with email '%s'", email);
    return CLI_EXIT_OK;
}

int cmd_user(int argc, char **argv)
{
    if (argc < 2)
        return cli_fail("user", "which action? (add, list, set-role, unlock, disable, enable)");
    const char *action = argv[1];
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"email", required_argument, 0, 'e'},
                                         {"name", required_argument, 0, 'n'},
                                         {"role", required_argument, 0, 'r'},
                                         {0, 0, 0, 0}};
    const char *url = NULL, *email = NULL, *name = NULL, *role = NULL;
    int c;
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': url = optarg; break;
        case 'e': email = optarg; break;
        case 'n': name = optarg; break;
        case 'r': role = optarg; break;
        default: return cli_fail("user", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_fail("user", "unexpected argument '%s'", argv[optind]);
    int role_id = -1;
    if (role && (role_id = names_index(role_names, 3, role)) < 0)
        return cli_fail("user", "--role must be admin, trader or investor, not '%s'", role);
    struct store *s;
    int rc = cli_store_open("user", url, &s);
    if (rc)
        return rc;
    struct atp_err err;
    atp_err_clear(&err);
    struct store_user u;
    memset(&u, 0, sizeof u);
    if (!strcmp(action, "add")) {
        if (!email || !strchr(email, '@')) {
            rc = cli_fail("user", "--email ADDRESS is required");
            goto out;
        }
        /* The password comes from ATP_USER_PASSWORD (never a flag: it would sit in the shell
         * history and the process list), or is generated and printed once. */
        const char *pw = getenv("ATP_USER_PASSWORD");
        char generated[TOKEN_TEXT_SIZE];
        if (!pw || !*pw) {
            token_generate(generated);
            generated[20] = '\0';
            pw = generated;
        } else if (strlen(pw) < MIN_PASSWORD) {
            rc = cli_fail("user", "ATP_USER_PASSWORD must have at least %d characters", MIN_PASSWORD);
            goto out;
        }
        snprintf(u.email, sizeof u.email, "%s", email);
        snprintf(u.name, sizeof u.name, "%s", name ? name : email);
        u.role = role_id >= 0 ? role_id : STORE_ROLE_TRADER;
        u.status = STORE_USER_ACTIVE;
        if (password_hash(pw, strlen(pw), u.password_hash) != ATP_OK) {
            rc = cli_fail("user", "password hashing failed");
            goto out;
        }
        int64_t id;
        if (store_user_create(s, &u, &id, &err) != ATP_OK) {
            rc = cli_fail_err("user", &err);
            goto out;
        }
        struct hutil_actor who = {0, "cli", "atp user", NULL};
        char resource[48];
        snprintf(resource, sizeof resource, "user:%lld", (long long)id);
        hutil_audit(s, &who, 0, "user.add", resource, "ok",
                    json_pack("{s:s, s:s}", "email", u.email, "role", role_names[u.role]));
        printf("user %lld %s (%s) created\n", (long long)id, email, role_names[u.role]);
        if (pw == generated)
            printf("password: %s   (shown once; change it after the first login)\n", generated);
    } else if (!strcmp(action, "list")) {
        struct store_user page[100];
        struct store_page p = {0, 100};
        struct store_page_out po;
        printf("%-6s %-32s %-9s %-9s %s\n", "id", "email", "role", "status", "name");
        do {
            if (store_user_list(s, &p, page, &po, &err) != ATP_OK) {
                rc = cli_fail_err("user", &err);
                goto out;
            }
            for (uint32_t i = 0; i < po.count; i++)
                printf("%-6lld %-32s %-9s %-9s %s\n", (long long)page[i].id, page[i].email,
                       store_user_role_name(page[i].role), store_user_status_name(page[i].status),
                       page[i].name);
            p.cursor = po.next_cursor;
        } while (po.next_cursor);
    } else if (!strcmp(action, "set-role") || !strcmp(action, "unlock") || !strcmp(action, "disable") ||
               !strcmp(action, "enable")) {
        if ((rc = find_user(s, email, &u)) != CLI_EXIT_OK)
            goto out;
        /* The same implementation as the admin routes (api/useradmin.c): same rules, same audit. */
        struct hutil_actor who = {0, "cli", "atp user", NULL};
        int urc;
        if (!strcmp(action, "set-role")) {
            if (role_id < 0) {
                rc = cli_fail("user", "--role is required");
                goto out;
            }
            urc = useradmin_update(s, &who, u.id, STORE_USER_F_ROLE, role_id, u.status, &u, &err);
        } else if (!strcmp(action, "unlock")) {
            urc = useradmin_unlock(s, &who, u.id, &u, &err);
        } else {
            int status = !strcmp(action, "disable") ? STORE_USER_DISABLED : STORE_USER_ACTIVE;
            urc = useradmin_update(s, &who, u.id, STORE_USER_F_STATUS, u.role, status, &u, &err);
        }
        if (urc != ATP_OK) {
            rc = cli_fail_err("user", &err);
            goto out;
        }
        printf("user %s: %s done (%s, %s)\n", email, action, store_user_role_name(u.role),
               store_user_status_name(u.status));
    } else {
        rc = cli_fail("user", "unknown action '%s' (add, list, set-role, unlock, disable, enable)", action);
    }
out:
    store_close(s);
    return rc;
}
