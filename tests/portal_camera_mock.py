'''A python-dbusmock template of xdg-desktop-portal's Camera portal, for test-camera-portal.

Parameters (JSON, python3 -m dbusmock --session --template THIS -p '{...}'):
  answer   "granted" (Response 0), "denied" (1), "other" (2), or "never": the dialog stays up
           until the request is closed
  present  IsCameraPresent (default true)
  fd_path  the file whose open descriptor OpenPipeWireRemote hands out (the test compares it
           with the pipeline's); OpenPipeWireRemote fails with NotAllowed unless granted

AccessCamera answers the way the portal does: it returns the request's path at once, and the
Response signal comes from that path afterwards (from the main loop, once the reply is sent).
The request object has Close, whose calls the test reads with GetMethodCalls.
'''

import os

import dbus
from gi.repository import GLib

BUS_NAME = 'org.freedesktop.portal.Desktop'
MAIN_OBJ = '/org/freedesktop/portal/desktop'
MAIN_IFACE = 'org.freedesktop.portal.Camera'
SYSTEM_BUS = False

REQUEST_IFACE = 'org.freedesktop.portal.Request'
ANSWERS = {'granted': 0, 'denied': 1, 'other': 2}


def load(mock, parameters):
    mock.camera_answer = parameters.get('answer', 'granted')
    mock.camera_fd_path = parameters.get('fd_path', '/dev/null')
    mock.AddProperties(MAIN_IFACE, dbus.Dictionary({
        'IsCameraPresent': dbus.Boolean(parameters.get('present', True)),
        'version': dbus.UInt32(4),
    }, signature='sv'))


def _request_path(sender, token):
    return f'{MAIN_OBJ}/request/{sender[1:].replace(".", "_")}/{token}'


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='o',
                     sender_keyword='sender')
def AccessCamera(self, options, sender=None):
    path = _request_path(sender, str(options.get('handle_token', 'mock')))
    self.AddObject(path, REQUEST_IFACE, {}, [('Close', '', '', '')])
    code = ANSWERS.get(self.camera_answer)

    def respond():
        self.EmitSignalDetailed(REQUEST_IFACE, 'Response', 'ua{sv}',
                                [dbus.UInt32(code), dbus.Dictionary({}, signature='sv')],
                                {'path': dbus.ObjectPath(path)})
        return False

    if code is not None:
        GLib.timeout_add(50, respond)
    return dbus.ObjectPath(path)


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='h')
def OpenPipeWireRemote(self, options):
    if self.camera_answer != 'granted':
        raise dbus.exceptions.DBusException('Permission denied',
                                            name='org.freedesktop.portal.Error.NotAllowed')
    fd = os.open(self.camera_fd_path, os.O_RDONLY)
    try:
        return dbus.types.UnixFd(fd)
    finally:
        os.close(fd)
