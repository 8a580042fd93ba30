from django.db import models


class Photo(models.Model):
    title = models.CharField(max_length=100)
    image = models.FileField(upload_to="photos/%Y/%m")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title
