#ifndef PNYX_CMAXMINDDB_SHIM_H
#define PNYX_CMAXMINDDB_SHIM_H
// libmaxminddb from Debian (libmaxminddb-dev): reads MaxMind-format (.mmdb) databases for country rules.
#include <maxminddb.h>
#endif
