from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal.models import User


class Command(BaseCommand):
    help = "数据库中还没有用户时生成演示数据（make run 调用）。"

    def handle(self, *args, **options):
        if User.objects.exists():
            self.stdout.write("database already has users: demo data not seeded")
            return
        call_command("seed_demo", stdout=self.stdout)
