/*  hmc_inventory — `ferry-collector hmc-inventory`: log on to an HMC, list its
    managed systems and partitions, log off, print them.

    ferry-collector hmc-inventory --url https://HOST[:PORT] --user USER
        --password-file FILE [--ca-file FILE | --insecure] [--json]

    --json prints one object:
      {"systems": [{uuid, name, state, serial, machine_type, model,
                    max_active_migrations, active_migrations_in_progress, lpm_capable}],
       "partitions": [{uuid, name, id, state, type, rmc_state, migration_state, system_uuid}]}
    (a value the HMC did not give is null); otherwise two aligned tables.

    The password file holds the password on its first line and must not be
    readable by group or others (keys_check_private). --insecure skips TLS
    verification and says so on stderr.

    Exit status: 0 listed; 1 logon, TLS, connection or HMC failure, or an
    unusable password file; 2 bad options. */
#ifndef FERRY_HMC_INVENTORY_H
#define FERRY_HMC_INVENTORY_H

//  argv[0] is the sub-command's name ("hmc-inventory"), options follow.
//  argv borrowed. Returns the exit status.
int hmc_inventory_main(int argc, char **argv);

#endif
