// Which MongoDB server answers on localhost:27017? The official image's
// entrypoint first runs a temporary mongod for its init scripts: forked,
// without authentication, on 127.0.0.1 alone. Only the real server, which
// runs in the foreground and, where there is a root user, with
// authentication, is the one to dump or restore. This script logs in as the
// dump and the restore do and prints one line, "styrmin-mongo " and then
// "login-failed", "error <message>", "temporary" or
// "real set=<replica set name, empty when standalone> writable=<true|false>".
// styrminUser and styrminPassword are defined before it.
var styrminAdmin = db.getSiblingDB('admin');
function styrminReport(line) {
	print('styrmin-mongo ' + line);
}
function styrminCommand(command) {
	try {
		return styrminAdmin.runCommand(command);
	} catch (e) {
		// mongosh throws where the legacy shell returns ok: 0.
		return { ok: 0, errmsg: String(e) };
	}
}
if (styrminUser !== '') {
	var styrminAuth;
	try {
		// mongosh returns { ok: 1 } or throws; the legacy shell returns 1 or 0.
		styrminAuth = styrminAdmin.auth(styrminUser, styrminPassword);
	} catch (e) {
		styrminAuth = 0;
	}
	if (!styrminAuth || styrminAuth.ok === 0) {
		styrminReport('login-failed');
		quit(2);
	}
}
var styrminOptions = styrminCommand({ getCmdLineOpts: 1 });
if (!styrminOptions.ok) {
	styrminReport('error ' + styrminOptions.errmsg);
	quit(3);
}
var styrminParsed = styrminOptions.parsed || {};
var styrminSecurity = styrminParsed.security || {};
var styrminForked = (styrminParsed.processManagement || {}).fork === true;
var styrminAuthorization = styrminSecurity.authorization === 'enabled' || !!styrminSecurity.keyFile;
if (styrminForked || (styrminUser !== '' && !styrminAuthorization)) {
	styrminReport('temporary');
	quit(4);
}
var styrminHello = styrminCommand({ hello: 1 });
if (!styrminHello.ok) {
	// Servers before 4.4.2 know isMaster only.
	styrminHello = styrminCommand({ isMaster: 1 });
}
var styrminWritable = styrminHello.isWritablePrimary === true || styrminHello.ismaster === true;
styrminReport('real set=' + (styrminHello.setName || '') + ' writable=' + styrminWritable);
