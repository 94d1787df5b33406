/*
 * jsonkeys.h - which keys a JSON object of a definition may have (rules,
 * health definitions): one check, so that every definition refuses an
 * unknown key the same way and lists the known ones.
 */
#ifndef KZ_CORE_JSONKEYS_H
#define KZ_CORE_JSONKEYS_H

#include <cjson/cJSON.h>

/* NULL when every key of obj is one of allowed ('|'-separated: "a|b|c"),
 * else the first key that is not (borrowed from obj). */
const char *kz_json_unknown_key(const cJSON *obj, const char *allowed);

#endif
