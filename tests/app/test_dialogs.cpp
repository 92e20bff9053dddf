// SPDX-License-Identifier: MIT
#include <QtTest>
class Placeholder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void placeholder() { QVERIFY(true); }
};
QTEST_MAIN(Placeholder)
#include "test_dialogs.moc"
