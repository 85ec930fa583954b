# The smallest host configuration: every option at its default.
{ }
