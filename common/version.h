/* version.h - the ecluse release this tree builds. */
#ifndef ECLUSE_COMMON_VERSION_H
#define ECLUSE_COMMON_VERSION_H

#define ECLUSE_VERSION "0.1.0"

#endif
