"""File hooks: functions the file API calls around adding, getting and removing files.

None are defined yet. Each is optional and may be async, for example::

    def adding_file(file: FileAddMetadata, services: HookServices) -> None:
        if file.content_type != "image/png":
            raise NotAuthenticated("Only PNG images, please.")

The others are ``added_file``, ``getting_file``, ``got_file``, ``removing_file`` and
``removed_file``.
"""
