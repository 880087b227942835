#ifndef PNYX_CPCRE2_SHIM_H
#define PNYX_CPCRE2_SHIM_H
// PCRE2 from Debian (libpcre2-dev), 8-bit code units: SecLang's @rx, compiled once at load and JIT-compiled.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
