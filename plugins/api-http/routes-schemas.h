/*
 * routes-schemas.h - the JSON Schemas of the records routes-model.h builds
 * (user, line, presence, leg, group) and the pieces of OpenAPI Operation
 * Objects the routes of me, directory, presence and calls share, as C
 * string literals to paste into each route's "openapi" text. They describe
 * exactly what routes-model.h's functions write: change both together.
 */
#ifndef ROUTES_SCHEMAS_H
#define ROUTES_SCHEMAS_H

#define LEVEL_WORDS "[\"public\",\"business\",\"team\",\"personal\"]"

#define PRESENCE_SCHEMA                                                                            \
    "{\"type\":[\"object\",\"null\"],\"description\":\"null when the user has no presence on "     \
    "this server. PUBLIC sees user_id and state; note, until, the parts and on_call_with need "    \
    "BUSINESS.\","                                                                                 \
    "\"properties\":{\"user_id\":{\"type\":\"string\"},\"state\":{\"enum\":[\"unknown\","          \
    "\"available\",\"away\",\"busy\",\"on_phone\",\"ringing\",\"dnd\",\"out_of_office\","          \
    "\"offline\"]},\"note\":{\"type\":[\"string\",\"null\"]},\"until\":{\"type\":[\"string\","     \
    "\"null\"],\"format\":\"date-time\"},\"until_ms\":{\"type\":[\"integer\",\"null\"]},"          \
    "\"manual_state\":{\"type\":\"string\"},\"line_state\":{\"type\":\"string\"},"                 \
    "\"calendar_state\":{\"type\":\"string\"},\"on_call_with\":{\"type\":[\"object\",\"null\"],"       \
    "\"description\":\"who the user is on the phone with, as ucd identified the remote party "    \
    "(a connected call before a ringing one); null when not known or not on the "                 \
    "phone\",\"properties\":{\"name\":{\"type\":[\"string\",\"null\"]},\"company\":{\"type\":["       \
    "\"string\",\"null\"]}}}},\"required\":[\"user_id\",\"state\"]}"

#define LINE_SCHEMA                                                                                \
    "{\"type\":\"object\",\"description\":\"A line, shown at BUSINESS on its user (a line "        \
    "without a user: admins and API keys only); dnd, forward_to and capabilities at "              \
    "PERSONAL.\",\"properties\":{\"id\":{\"type\":\"string\",\"description\":\"DRIVER/ADDRESS\"}," \
    "\"driver\":{\"type\":\"string\"},\"address\":{\"type\":\"string\"},\"number\":{\"type\":"     \
    "[\"string\",\"null\"]},\"name\":{\"type\":[\"string\",\"null\"]},\"user_id\":{\"type\":"      \
    "[\"string\",\"null\"]},\"state\":{\"enum\":[\"unknown\",\"idle\",\"ringing\",\"dialing\","    \
    "\"busy\",\"held\",\"out_of_service\"]},\"dnd\":{\"type\":\"boolean\"},\"forward_to\":{"       \
    "\"type\":[\"string\",\"null\"]},\"capabilities\":{\"type\":\"array\",\"items\":{\"enum\":"    \
    "[\"monitor\",\"dial\",\"answer\",\"hangup\",\"hold\",\"transfer_blind\","                     \
    "\"transfer_consult\",\"deflect\",\"pickup\",\"dtmf\",\"forward\",\"dnd\",\"conference\"]}}}," \
    "\"required\":[\"id\",\"driver\",\"address\",\"state\"]}"

#define LEG_SCHEMA                                                                                 \
    "{\"type\":\"object\",\"description\":\"A live leg: a call on one line, shown at BUSINESS "    \
    "on the line's user. A private remote number (private true) is 'anonymous' and remote_name "   \
    "null to everyone but the line's user.\",\"properties\":{\"driver\":{\"type\":\"string\"},"    \
    "\"line\":{\"type\":\"string\"},\"user_id\":{\"type\":[\"string\",\"null\"]},\"call_id\":{"    \
    "\"type\":\"string\"},\"conversation_id\":{\"type\":[\"string\",\"null\"]},\"uuid\":{"         \
    "\"type\":[\"string\",\"null\"]},\"state\":{\"enum\":[\"idle\",\"dialing\",\"ringback\","      \
    "\"offering\",\"connected\",\"held\",\"conferenced\",\"transferred\",\"disconnected\"]},"      \
    "\"direction\":{\"enum\":[\"unknown\",\"inbound\",\"outbound\",\"internal\"]},\"private\":{"   \
    "\"type\":\"boolean\"},\"remote_number\":{\"type\":[\"string\",\"null\"]},\"remote_name\":{"   \
    "\"type\":[\"string\",\"null\"]},\"since\":{\"type\":[\"string\",\"null\"],\"format\":"        \
    "\"date-time\"},\"since_ms\":{\"type\":[\"integer\",\"null\"]},\"party\":{\"type\":["          \
    "\"object\","                                                                                  \
    "\"null\"],\"description\":\"The remote party as ucd identified it: a user of the directory "  \
    "(source 'directory', user_id set) or a contact of the contact store (source: its module); "   \
    "null when unknown or withheld.\",\"properties\":{\"name\":{\"type\":[\"string\",\"null\"]},"  \
    "\"company\":{\"type\":[\"string\",\"null\"]},\"source\":{\"type\":\"string\"},\"user_id\":{"  \
    "\"type\":[\"string\",\"null\"]}}}},\"required\":[\"driver\",\"line\",\"call_id\",\"state\","  \
    "\"private\",\"remote_number\"]}"

#define USER_SCHEMA                                                                                \
    "{\"type\":\"object\",\"description\":\"A user as the caller may see them (level): id, "       \
    "login, display_name and level always; PUBLIC adds contact data, groups and presence; "        \
    "BUSINESS adds lines and calls; PERSONAL (oneself, an admin, a personal grant) adds "          \
    "enabled, active_here, home_server, backend and e164.\",\"properties\":{\"id\":{\"type\":"     \
    "\"string\"},\"login\":{\"type\":\"string\"},\"display_name\":{\"type\":[\"string\","          \
    "\"null\"]},\"level\":{\"enum\":" LEVEL_WORDS "},\"given_name\":{\"type\":[\"string\","        \
    "\"null\"]},\"surname\":{\"type\":[\"string\",\"null\"]},\"email\":{\"type\":[\"string\","     \
    "\"null\"]},\"department\":{\"type\":[\"string\",\"null\"]},\"title\":{\"type\":[\"string\","  \
    "\"null\"]},\"numbers\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"groups\":{"     \
    "\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"presence\":" PRESENCE_SCHEMA ","        \
    "\"lines\":{\"type\":\"array\",\"items\":" LINE_SCHEMA "},\"calls\":{\"type\":\"array\","      \
    "\"items\":" LEG_SCHEMA "},\"enabled\":{\"type\":\"boolean\"},\"active_here\":{\"type\":"      \
    "\"boolean\"},\"home_server\":{\"type\":[\"string\",\"null\"]},\"backend\":{\"type\":"         \
    "[\"string\",\"null\"]},\"e164\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"       \
    "\"required\":[\"id\",\"login\",\"display_name\",\"level\"]}"

#define GROUP_SCHEMA                                                                               \
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"name\":{\"type\":"        \
    "[\"string\",\"null\"]},\"description\":{\"type\":[\"string\",\"null\"]},\"leaders\":{"        \
    "\"type\":\"array\",\"description\":\"ids of the leaders the caller may see\",\"items\":{"     \
    "\"type\":\"string\"}}},\"required\":[\"id\",\"leaders\"]}"

#define LIST_OF(items, next)                                                                       \
    "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":" items "},"     \
    "\"total\":{\"type\":\"integer\"},\"next\":" next "},\"required\":[\"items\",\"total\","       \
    "\"next\"]}"

#define LIST_200(what, items, next)                                                                \
    "\"200\":{\"description\":\"" what " (ETag; If-None-Match answers 304)\",\"headers\":{"        \
    "\"ETag\":{\"schema\":{\"type\":\"string\"}}},\"content\":{\"application/"                     \
    "json\":{\"schema\":" LIST_OF(items, next) "}}},\"304\":{\"description\":\"not modified\"}"

#define OBJECT_200(what, schema)                                                                   \
    "\"200\":{\"description\":\"" what "\",\"content\":{\"application/json\":{\"schema\":" schema  \
    "}}}"

#define USER_PAGE_PARAMETERS                                                                       \
    "{\"name\":\"q\",\"in\":\"query\",\"description\":\"case-insensitive part of the login, "      \
    "names or e-mail, or the digits of a number\",\"schema\":{\"type\":\"string\","                \
    "\"maxLength\":256}},{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","   \
    "\"minimum\":1,\"maximum\":500,\"default\":100}},{\"name\":\"after\",\"in\":\"query\","        \
    "\"description\":\"keyset paging: the previous page's next (a login)\",\"schema\":{"           \
    "\"type\":\"string\"}}"

#define PAGE_NEXT "{\"type\":[\"string\",\"null\"],\"description\":\"after= of the next page\"}"
#define NULL_NEXT "{\"type\":\"null\"}"

#define PATH_PARAM(name, what)                                                                     \
    "{\"name\":\"" name "\",\"in\":\"path\",\"required\":true,\"description\":\"" what "\","       \
    "\"schema\":{\"type\":\"string\"}}"

#endif /* ROUTES_SCHEMAS_H */
